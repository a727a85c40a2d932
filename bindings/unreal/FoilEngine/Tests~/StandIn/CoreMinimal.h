// STAND-IN FOR TESTS, NEVER SHIPPED. A compile-only imitation of the few parts of Unreal
// Engine 5's API that the FoilEngine plugin's sources use, so that foil-ffi-tests
// (tests/unreal_standin.rs) can compile them with g++ and run them under ASan/UBSan without
// Unreal. Unreal ignores folders whose names end in '~', so nothing here reaches a game.
//
// Signatures and semantics follow Unreal's (case-insensitive FString ==, TCHAR = char16_t as
// on Linux, int64 = long long, MoveTemp refusing rvalues and const objects, checked ranged-for
// over TArray/TMap, format strings of UE_LOG and FString::Printf checked against their
// arguments at compile time as in UE 5.2+); bodies do the minimum. Deviation: Unreal gets the
// UCLASS/UPROPERTY/... macros into a header through its *.generated.h; here CoreMinimal.h
// includes them (UObject/ObjectMacros.h) and the generated headers are empty.

#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

// --- platform, module API ---------------------------------------------------------------------

// UnrealBuildTool defines the platform of the build to 1 (e.g. -DPLATFORM_WINDOWS=1).
#ifndef PLATFORM_WINDOWS
#define PLATFORM_WINDOWS 0
#endif
#ifndef PLATFORM_MAC
#define PLATFORM_MAC 0
#endif

// UnrealBuildTool defines <MODULE>_API as the DLL export/import attribute (empty when linked in).
#ifndef FOILENGINE_API
#define FOILENGINE_API
#endif

// Unreal's THIRD_PARTY_INCLUDES_START silences the warnings third-party headers tend to raise.
#define THIRD_PARTY_INCLUDES_START \
	_Pragma("GCC diagnostic push") \
	_Pragma("GCC diagnostic ignored \"-Wshadow\"") \
	_Pragma("GCC diagnostic ignored \"-Wreorder\"") \
	_Pragma("GCC diagnostic ignored \"-Wdeprecated-declarations\"")
#define THIRD_PARTY_INCLUDES_END _Pragma("GCC diagnostic pop")

// --- types ------------------------------------------------------------------------------------

typedef unsigned char uint8;
typedef signed int int32;
typedef unsigned int uint32;
typedef signed long long int64;
typedef unsigned long long uint64;
typedef char ANSICHAR;
typedef char16_t TCHAR;

#define TEXT(x) u"" x

#define MIN_int32 (static_cast<int32>(-2147483647 - 1))
#define MAX_int32 (static_cast<int32>(2147483647))

// --- assertions, threads ----------------------------------------------------------------------

namespace UEStandIn
{
	[[noreturn]] inline void AssertionFailed(const char* What, const char* File, int Line)
	{
		std::fprintf(stderr, "Assertion failed: %s [%s:%d]\n", What, File, Line);
		std::fflush(stderr);
		std::abort();
	}

	// The thread that ran static initialization: the game thread, as far as the tests go.
	inline const std::thread::id GameThreadId = std::this_thread::get_id();
}

// Like Unreal's: a statement (braces, not an expression), active in every build here.
#define check(expr) { if (!(expr)) { ::UEStandIn::AssertionFailed(#expr, __FILE__, __LINE__); } }

inline bool IsInGameThread()
{
	return std::this_thread::get_id() == UEStandIn::GameThreadId;
}

// --- templates --------------------------------------------------------------------------------

/** Unreal's std::move, refusing what is almost certainly a mistake. */
template <typename T>
std::remove_reference_t<T>&& MoveTemp(T&& Obj)
{
	using CastType = std::remove_reference_t<T>;
	static_assert(std::is_lvalue_reference_v<T>, "MoveTemp called on an rvalue");
	static_assert(!std::is_same_v<CastType&, const CastType&>, "MoveTemp called on a const object");
	return static_cast<CastType&&>(Obj);
}

/** Sets a variable for a scope and restores its value when the scope ends. */
template <typename RefType, typename AssignedType = RefType>
struct TGuardValue
{
	[[nodiscard]] TGuardValue(RefType& ReferenceValue, const AssignedType& NewValue)
		: RefValue(ReferenceValue), OriginalValue(ReferenceValue)
	{
		RefValue = NewValue;
	}
	~TGuardValue() { RefValue = OriginalValue; }
	TGuardValue(const TGuardValue&) = delete;
	TGuardValue& operator=(const TGuardValue&) = delete;

private:
	RefType& RefValue;
	AssignedType OriginalValue;
};

struct FMath
{
	template <class T>
	static constexpr T Max(const T A, const T B) { return (B < A) ? A : B; }
	template <class T>
	static constexpr T Min(const T A, const T B) { return (A < B) ? A : B; }
	template <class T>
	static constexpr T Clamp(const T X, const T MinValue, const T MaxValue)
	{
		return X < MinValue ? MinValue : X < MaxValue ? X : MaxValue;
	}
};

// --- strings ----------------------------------------------------------------------------------

namespace ESearchCase
{
	enum Type { CaseSensitive, IgnoreCase };
}

namespace UEStandIn
{
	inline TCHAR ToLower(TCHAR C) { return C >= u'A' && C <= u'Z' ? static_cast<TCHAR>(C + (u'a' - u'A')) : C; }

	// FChar::IsWhitespace.
	inline bool IsWhitespace(TCHAR C)
	{
		return C == u' ' || C == u'\t' || C == u'\n' || C == u'\r' || C == u'\v' || C == u'\f' || C == 0x85 ||
			C == 0xA0 || C == 0x1680 || (C >= 0x2000 && C <= 0x200A) || C == 0x2028 || C == 0x2029 ||
			C == 0x202F || C == 0x205F || C == 0x3000;
	}

	/** UTF-8 (invalid sequences become U+FFFD) to UTF-16. */
	inline std::u16string Utf8ToUtf16(const char* Source, std::size_t Length)
	{
		std::u16string Out;
		Out.reserve(Length);
		std::size_t I = 0;
		while (I < Length)
		{
			const unsigned char Lead = static_cast<unsigned char>(Source[I]);
			std::size_t Extra = 0;
			char32_t Code = Lead;
			bool bValid = true;
			if (Lead >= 0x80)
			{
				Extra = (Lead & 0xE0) == 0xC0 ? 1 : (Lead & 0xF0) == 0xE0 ? 2 : (Lead & 0xF8) == 0xF0 ? 3 : 0;
				Code = Lead & (0x3Fu >> Extra);
				bValid = Extra != 0 && I + Extra < Length;
				for (std::size_t K = 1; bValid && K <= Extra; ++K)
				{
					const unsigned char Next = static_cast<unsigned char>(Source[I + K]);
					bValid = (Next & 0xC0) == 0x80;
					Code = (Code << 6) | (Next & 0x3Fu);
				}
				const char32_t Least[] = {0, 0x80, 0x800, 0x10000};
				bValid = bValid && Code >= Least[Extra] && Code <= 0x10FFFF && (Code < 0xD800 || Code > 0xDFFF);
			}
			if (!bValid)
			{
				Out.push_back(u'\uFFFD');
				++I;
				continue;
			}
			I += Extra + 1;
			if (Code >= 0x10000)
			{
				Code -= 0x10000;
				Out.push_back(static_cast<char16_t>(0xD800 + (Code >> 10)));
				Out.push_back(static_cast<char16_t>(0xDC00 + (Code & 0x3FF)));
			}
			else
			{
				Out.push_back(static_cast<char16_t>(Code));
			}
		}
		return Out;
	}

	/** UTF-16 (lone surrogates become U+FFFD) to UTF-8. */
	inline std::string Utf16ToUtf8(const char16_t* Source, std::size_t Length)
	{
		std::string Out;
		Out.reserve(Length);
		for (std::size_t I = 0; I < Length; ++I)
		{
			char32_t Code = Source[I];
			if (Code >= 0xD800 && Code <= 0xDBFF && I + 1 < Length && Source[I + 1] >= 0xDC00 && Source[I + 1] <= 0xDFFF)
			{
				Code = 0x10000 + ((Code - 0xD800) << 10) + (Source[I + 1] - 0xDC00u);
				++I;
			}
			else if (Code >= 0xD800 && Code <= 0xDFFF)
			{
				Code = 0xFFFD;
			}
			if (Code < 0x80)
			{
				Out.push_back(static_cast<char>(Code));
			}
			else if (Code < 0x800)
			{
				Out.push_back(static_cast<char>(0xC0 | (Code >> 6)));
				Out.push_back(static_cast<char>(0x80 | (Code & 0x3F)));
			}
			else if (Code < 0x10000)
			{
				Out.push_back(static_cast<char>(0xE0 | (Code >> 12)));
				Out.push_back(static_cast<char>(0x80 | ((Code >> 6) & 0x3F)));
				Out.push_back(static_cast<char>(0x80 | (Code & 0x3F)));
			}
			else
			{
				Out.push_back(static_cast<char>(0xF0 | (Code >> 18)));
				Out.push_back(static_cast<char>(0x80 | ((Code >> 12) & 0x3F)));
				Out.push_back(static_cast<char>(0x80 | ((Code >> 6) & 0x3F)));
				Out.push_back(static_cast<char>(0x80 | (Code & 0x3F)));
			}
		}
		return Out;
	}

	// --- format strings (UE_LOG, FString::Printf): TCHAR printf, %s takes a TCHAR* ---

	enum class EFormatArg : uint8 { Int32, Int64, Float, String, Pointer, Invalid };

	/** What a format argument of type T is; Invalid for what cannot go through C varargs (an FString: pass *String). */
	template <typename T>
	constexpr EFormatArg FormatArgOf()
	{
		using U = std::remove_cv_t<T>;
		if constexpr (std::is_same_v<U, const TCHAR*> || std::is_same_v<U, TCHAR*>)
			return EFormatArg::String;
		else if constexpr (std::is_pointer_v<U> || std::is_null_pointer_v<U>)
			return EFormatArg::Pointer;
		else if constexpr (std::is_floating_point_v<U>)
			return EFormatArg::Float;
		else if constexpr (std::is_integral_v<U> || std::is_enum_v<U>)
			return sizeof(U) <= 4 ? EFormatArg::Int32 : sizeof(U) == 8 ? EFormatArg::Int64 : EFormatArg::Invalid;
		else
			return EFormatArg::Invalid;
	}

	struct FFormatSpec
	{
		std::size_t End = 0;  // just after the conversion character
		EFormatArg Wants = EFormatArg::Invalid;
		bool bValid = false;
		bool bPercent = false;  // "%%"
	};

	/** The conversion starting at Format[Start] == '%': flags, width, precision, "ll", conversion. */
	constexpr FFormatSpec ParseFormatSpec(const TCHAR* Format, std::size_t Start)
	{
		FFormatSpec Spec;
		std::size_t I = Start + 1;
		if (Format[I] == u'%')
		{
			Spec.End = I + 1;
			Spec.bValid = Spec.bPercent = true;
			return Spec;
		}
		while (Format[I] == u'-' || Format[I] == u'+' || Format[I] == u' ' || Format[I] == u'#' || Format[I] == u'0')
			++I;
		while (Format[I] >= u'0' && Format[I] <= u'9')
			++I;
		if (Format[I] == u'.')
		{
			++I;
			while (Format[I] >= u'0' && Format[I] <= u'9')
				++I;
		}
		const bool bPlain = I == Start + 1;
		const bool bLongLong = Format[I] == u'l' && Format[I + 1] == u'l';
		if (bLongLong)
			I += 2;
		switch (Format[I])
		{
		case u'd': case u'i': case u'u': case u'x': case u'X': case u'o':
			Spec.Wants = bLongLong ? EFormatArg::Int64 : EFormatArg::Int32;
			Spec.bValid = true;
			break;
		case u'c':
			Spec.Wants = EFormatArg::Int32;
			Spec.bValid = bPlain && !bLongLong;
			break;
		case u'f': case u'F': case u'e': case u'E': case u'g': case u'G':
			Spec.Wants = EFormatArg::Float;
			Spec.bValid = !bLongLong;
			break;
		case u's':
			Spec.Wants = EFormatArg::String;
			Spec.bValid = bPlain && !bLongLong;
			break;
		case u'p':
			Spec.Wants = EFormatArg::Pointer;
			Spec.bValid = bPlain && !bLongLong;
			break;
		default:  // includes the terminator: a '%' at the end
			return Spec;
		}
		Spec.End = I + 1;
		return Spec;
	}

	/** True when every conversion of Format takes the next argument's kind, and all are used. */
	constexpr bool FormatMatches(const TCHAR* Format, const EFormatArg* Args, std::size_t NumArgs)
	{
		std::size_t Used = 0;
		for (std::size_t I = 0; Format[I] != 0;)
		{
			if (Format[I] != u'%')
			{
				++I;
				continue;
			}
			const FFormatSpec Spec = ParseFormatSpec(Format, I);
			if (!Spec.bValid)
				return false;
			I = Spec.End;
			if (Spec.bPercent)
				continue;
			if (Used == NumArgs || Args[Used] != Spec.Wants)
				return false;
			++Used;
		}
		return Used == NumArgs;
	}

	/** Not constexpr: a call of it in the consteval check below is the compile error. */
	inline void FormatStringDoesNotMatchItsArguments() {}

	/** A TCHAR format string literal, checked at compile time against the argument types. */
	template <typename... Types>
	struct TFormatString
	{
		template <std::size_t N>
		consteval TFormatString(const TCHAR (&InFormat)[N]) : Format(InFormat)
		{
			constexpr EFormatArg Kinds[] = {FormatArgOf<Types>()..., EFormatArg::Invalid};
			if (!FormatMatches(InFormat, Kinds, sizeof...(Types)))
			{
				FormatStringDoesNotMatchItsArguments();
			}
		}
		const TCHAR* Format;
	};

	struct FFormatArgValue
	{
		EFormatArg Kind = EFormatArg::Invalid;
		long long Signed = 0;
		unsigned long long Unsigned = 0;
		double Float = 0;
		const TCHAR* String = nullptr;
		const void* Pointer = nullptr;
	};

	template <typename T>
	FFormatArgValue MakeFormatArg(T Value)
	{
		FFormatArgValue Out;
		Out.Kind = FormatArgOf<T>();
		if constexpr (std::is_same_v<std::remove_cv_t<T>, const TCHAR*> || std::is_same_v<std::remove_cv_t<T>, TCHAR*>)
			Out.String = Value;
		else if constexpr (std::is_pointer_v<T>)
			Out.Pointer = Value;
		else if constexpr (std::is_floating_point_v<T>)
			Out.Float = static_cast<double>(Value);
		else if constexpr (std::is_enum_v<T>)
			Out.Signed = static_cast<long long>(Value), Out.Unsigned = static_cast<unsigned long long>(Value);
		else if constexpr (std::is_integral_v<T>)
			Out.Signed = static_cast<long long>(Value), Out.Unsigned = static_cast<unsigned long long>(Value);
		return Out;
	}

	/** Formats with arguments already checked against Format (FormatMatches). */
	inline std::u16string FormatChecked(const TCHAR* Format, const FFormatArgValue* Args)
	{
		std::u16string Out;
		std::size_t Next = 0;
		for (std::size_t I = 0; Format[I] != 0;)
		{
			if (Format[I] != u'%')
			{
				Out.push_back(Format[I++]);
				continue;
			}
			const FFormatSpec Spec = ParseFormatSpec(Format, I);
			const TCHAR Conversion = Format[Spec.End - 1];
			if (Spec.bPercent)
			{
				Out.push_back(u'%');
			}
			else if (Conversion == u's')
			{
				const FFormatArgValue& Arg = Args[Next++];
				Out += Arg.String != nullptr ? Arg.String : u"(null)";
			}
			else if (Conversion == u'c')
			{
				Out.push_back(static_cast<TCHAR>(Args[Next++].Unsigned));
			}
			else
			{
				// Numbers: the same conversion, narrowed, through snprintf.
				char Narrow[32] = {};
				const std::size_t Count = FMath::Min<std::size_t>(Spec.End - I, sizeof(Narrow) - 1);
				for (std::size_t K = 0; K < Count; ++K)
				{
					Narrow[K] = static_cast<char>(Format[I + K]);
				}
				const FFormatArgValue& Arg = Args[Next++];
				const bool bSigned = Conversion == u'd' || Conversion == u'i';
				char Buffer[512] = {};
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
				if (Arg.Kind == EFormatArg::Float)
					std::snprintf(Buffer, sizeof(Buffer), Narrow, Arg.Float);
				else if (Arg.Kind == EFormatArg::Pointer)
					std::snprintf(Buffer, sizeof(Buffer), Narrow, Arg.Pointer);
				else if (Arg.Kind == EFormatArg::Int64 && bSigned)
					std::snprintf(Buffer, sizeof(Buffer), Narrow, Arg.Signed);
				else if (Arg.Kind == EFormatArg::Int64)
					std::snprintf(Buffer, sizeof(Buffer), Narrow, Arg.Unsigned);
				else if (bSigned)
					std::snprintf(Buffer, sizeof(Buffer), Narrow, static_cast<int>(Arg.Signed));
				else
					std::snprintf(Buffer, sizeof(Buffer), Narrow, static_cast<unsigned int>(Arg.Unsigned));
#pragma GCC diagnostic pop
				for (const char* C = Buffer; *C != 0; ++C)
				{
					Out.push_back(static_cast<TCHAR>(*C));
				}
			}
			I = Spec.End;
		}
		return Out;
	}

	template <typename... Types>
	std::u16string Format(const TCHAR* FormatString, Types... Args)
	{
		static_assert(((FormatArgOf<Types>() != EFormatArg::Invalid) && ...),
			"invalid argument(s) for a TCHAR format string: numbers, pointers, TCHAR* (pass *String for an FString)");
		const FFormatArgValue Values[] = {MakeFormatArg(Args)..., FFormatArgValue()};
		return FormatChecked(FormatString, Values);
	}
}

class FString
{
public:
	FString() = default;
	FString(const TCHAR* Str) : Data(Str != nullptr ? Str : u"") {}
	explicit FString(int32 InCount, const TCHAR* InSrc)
	{
		check(InCount >= 0 && (InCount == 0 || InSrc != nullptr));
		if (InCount > 0)
		{
			Data.assign(InSrc, static_cast<std::size_t>(InCount));
		}
	}

	/** The characters, NUL-terminated ("" when empty). */
	const TCHAR* operator*() const { return Data.c_str(); }
	int32 Len() const { return static_cast<int32>(Data.size()); }
	bool IsEmpty() const { return Data.empty(); }
	/** Empties the string (Unreal: keeping NewReservedSize characters of capacity). */
	void Reset(int32 NewReservedSize = 0)
	{
		Data.clear();
		Data.reserve(static_cast<size_t>(NewReservedSize));
	}

	FString& operator+=(const FString& Str)
	{
		Data += Str.Data;
		return *this;
	}
	FString& operator+=(const TCHAR* Str)
	{
		Data += Str != nullptr ? Str : u"";
		return *this;
	}
	friend FString operator+(const FString& Lhs, const FString& Rhs)
	{
		FString Out(Lhs);
		Out += Rhs;
		return Out;
	}

	/** Without whitespace at either end (FChar::IsWhitespace). */
	FString TrimStartAndEnd() const&
	{
		std::size_t Begin = 0;
		std::size_t End = Data.size();
		while (Begin < End && UEStandIn::IsWhitespace(Data[Begin]))
			++Begin;
		while (End > Begin && UEStandIn::IsWhitespace(Data[End - 1]))
			--End;
		FString Out;
		Out.Data = Data.substr(Begin, End - Begin);
		return Out;
	}

	bool Equals(const FString& Other, ESearchCase::Type SearchCase = ESearchCase::CaseSensitive) const
	{
		if (SearchCase == ESearchCase::CaseSensitive)
			return Data == Other.Data;
		if (Data.size() != Other.Data.size())
			return false;
		for (std::size_t I = 0; I < Data.size(); ++I)
		{
			if (UEStandIn::ToLower(Data[I]) != UEStandIn::ToLower(Other.Data[I]))
				return false;
		}
		return true;
	}

	/** Case-insensitive, like Unreal's. */
	friend bool operator==(const FString& Lhs, const FString& Rhs) { return Lhs.Equals(Rhs, ESearchCase::IgnoreCase); }
	friend bool operator!=(const FString& Lhs, const FString& Rhs) { return !(Lhs == Rhs); }

	/** printf with a TCHAR format literal: %s takes a TCHAR* (*String), %lld an int64. */
	template <typename... Types>
	static FString Printf(UEStandIn::TFormatString<std::type_identity_t<Types>...> Fmt, Types... Args)
	{
		FString Out;
		Out.Data = UEStandIn::Format(Fmt.Format, Args...);
		return Out;
	}

private:
	std::u16string Data;
};

// --- containers -------------------------------------------------------------------------------

namespace UEStandIn
{
	/** A ranged-for iterator that fails when the container changes size while it runs, like Unreal's. */
	template <typename ContainerType, typename ElementType>
	class TCheckedIterator
	{
	public:
		TCheckedIterator(ContainerType& InContainer, std::size_t InIndex)
			: Container(&InContainer), Index(InIndex), InitialNum(InContainer.size())
		{
		}
		ElementType& operator*() const { return (*Container)[Index]; }
		TCheckedIterator& operator++()
		{
			++Index;
			return *this;
		}
		bool operator!=(const TCheckedIterator& Other) const
		{
			if (Container->size() != InitialNum)
			{
				AssertionFailed("Container has changed during ranged-for iteration!", __FILE__, __LINE__);
			}
			return Index != Other.Index;
		}

	private:
		ContainerType* Container;
		std::size_t Index;
		std::size_t InitialNum;
	};
}

template <typename InElementType>
class TArray
{
public:
	using ElementType = InElementType;

	TArray() = default;
	TArray(std::initializer_list<ElementType> InitList) : Data(InitList) {}

	int32 Num() const { return static_cast<int32>(Data.size()); }
	void Reserve(int32 Number)
	{
		check(Number >= 0);
		Data.reserve(static_cast<std::size_t>(Number));
	}
	/** Empties the array, keeping (at least NewSize) slack. */
	void Reset(int32 NewSize = 0)
	{
		Data.clear();
		Reserve(NewSize);
	}
	int32 Add(const ElementType& Item)
	{
		Data.push_back(Item);
		return Num() - 1;
	}
	int32 Add(ElementType&& Item)
	{
		Data.push_back(std::move(Item));
		return Num() - 1;
	}
	template <typename... ArgsType>
	int32 Emplace(ArgsType&&... Args)
	{
		Data.emplace_back(std::forward<ArgsType>(Args)...);
		return Num() - 1;
	}
	int32 AddUnique(const ElementType& Item)
	{
		for (int32 Index = 0; Index < Num(); ++Index)
		{
			if (Data[static_cast<std::size_t>(Index)] == Item)
				return Index;
		}
		return Add(Item);
	}
	/** Removes every element equal to Item; returns how many. */
	int32 Remove(const ElementType& Item)
	{
		const std::size_t Before = Data.size();
		std::erase(Data, Item);
		return static_cast<int32>(Before - Data.size());
	}
	bool Contains(const ElementType& Item) const
	{
		for (const ElementType& Element : Data)
		{
			if (Element == Item)
				return true;
		}
		return false;
	}
	ElementType& operator[](int32 Index)
	{
		check(Index >= 0 && Index < Num());
		return Data[static_cast<std::size_t>(Index)];
	}
	const ElementType& operator[](int32 Index) const
	{
		check(Index >= 0 && Index < Num());
		return Data[static_cast<std::size_t>(Index)];
	}

	using FIterator = UEStandIn::TCheckedIterator<std::vector<ElementType>, ElementType>;
	using FConstIterator = UEStandIn::TCheckedIterator<const std::vector<ElementType>, const ElementType>;
	FIterator begin() { return FIterator(Data, 0); }
	FIterator end() { return FIterator(Data, Data.size()); }
	FConstIterator begin() const { return FConstIterator(Data, 0); }
	FConstIterator end() const { return FConstIterator(Data, Data.size()); }

private:
	std::vector<ElementType> Data;
};

/** A key and a value (Unreal's TPair is a TTuple with members Key and Value). */
template <typename KeyType, typename ValueType>
struct TPair
{
	KeyType Key;
	ValueType Value;
};

/** Insertion-ordered, unique keys (a linear search: the maps under test are small). */
template <typename InKeyType, typename InValueType>
class TMap
{
public:
	using KeyType = InKeyType;
	using ValueType = InValueType;
	using ElementType = TPair<KeyType, ValueType>;

	int32 Num() const { return static_cast<int32>(Pairs.size()); }
	void Reset() { Pairs.clear(); }

	/** Adds a pair, or replaces the value of the key's pair. */
	ValueType& Add(const KeyType& InKey, const ValueType& InValue) { return Emplace(InKey, InValue); }
	ValueType& Add(const KeyType& InKey, ValueType&& InValue) { return Emplace(InKey, std::move(InValue)); }

	/** Removes the key's pair; returns how many were removed (0 or 1). */
	int32 Remove(const KeyType& InKey)
	{
		for (auto It = Pairs.begin(); It != Pairs.end(); ++It)
		{
			if (It->Key == InKey)
			{
				Pairs.erase(It);
				return 1;
			}
		}
		return 0;
	}
	ValueType* Find(const KeyType& InKey)
	{
		for (ElementType& Pair : Pairs)
		{
			if (Pair.Key == InKey)
				return &Pair.Value;
		}
		return nullptr;
	}
	const ValueType* Find(const KeyType& InKey) const { return const_cast<TMap*>(this)->Find(InKey); }
	bool Contains(const KeyType& InKey) const { return Find(InKey) != nullptr; }

	using FIterator = UEStandIn::TCheckedIterator<std::vector<ElementType>, ElementType>;
	using FConstIterator = UEStandIn::TCheckedIterator<const std::vector<ElementType>, const ElementType>;
	FIterator begin() { return FIterator(Pairs, 0); }
	FIterator end() { return FIterator(Pairs, Pairs.size()); }
	FConstIterator begin() const { return FConstIterator(Pairs, 0); }
	FConstIterator end() const { return FConstIterator(Pairs, Pairs.size()); }

private:
	template <typename V>
	ValueType& Emplace(const KeyType& InKey, V&& InValue)
	{
		if (ValueType* Existing = Find(InKey))
		{
			*Existing = std::forward<V>(InValue);
			return *Existing;
		}
		Pairs.push_back(ElementType{InKey, std::forward<V>(InValue)});
		return Pairs.back().Value;
	}

	std::vector<ElementType> Pairs;
};

template <typename OptionalType>
class TOptional
{
public:
	TOptional() = default;
	TOptional(const OptionalType& InValue) : Value(InValue) {}
	TOptional(OptionalType&& InValue) : Value(std::move(InValue)) {}
	TOptional& operator=(const OptionalType& InValue)
	{
		Value = InValue;
		return *this;
	}
	TOptional& operator=(OptionalType&& InValue)
	{
		Value = std::move(InValue);
		return *this;
	}

	bool IsSet() const { return Value.has_value(); }
	OptionalType& GetValue()
	{
		check(IsSet());
		return *Value;
	}
	const OptionalType& GetValue() const
	{
		check(IsSet());
		return *Value;
	}
	void Reset() { Value.reset(); }

private:
	std::optional<OptionalType> Value;
};

// --- shared pointers (thread-safe, like Unreal 5's default) ----------------------------------

template <typename ObjectType>
class TSharedPtr;

/** A non-null shared reference. */
template <typename ObjectType>
class TSharedRef
{
public:
	ObjectType& Get() const { return *Object; }
	ObjectType& operator*() const { return *Object; }
	ObjectType* operator->() const { return Object.get(); }

private:
	explicit TSharedRef(std::shared_ptr<ObjectType> InObject) : Object(std::move(InObject)) { check(Object != nullptr); }

	template <typename T, typename... ArgsType>
	friend TSharedRef<T> MakeShared(ArgsType&&... Args);
	friend class TSharedPtr<ObjectType>;

	std::shared_ptr<ObjectType> Object;
};

template <typename ObjectType>
class TSharedPtr
{
public:
	TSharedPtr() = default;
	TSharedPtr(std::nullptr_t) {}
	TSharedPtr(const TSharedRef<ObjectType>& Ref) : Object(Ref.Object) {}

	bool IsValid() const { return Object != nullptr; }
	explicit operator bool() const { return IsValid(); }
	ObjectType* Get() const { return Object.get(); }
	ObjectType* operator->() const
	{
		check(IsValid());
		return Object.get();
	}

private:
	std::shared_ptr<ObjectType> Object;
};

template <typename ObjectType, typename... ArgsType>
TSharedRef<ObjectType> MakeShared(ArgsType&&... Args)
{
	return TSharedRef<ObjectType>(std::make_shared<ObjectType>(std::forward<ArgsType>(Args)...));
}

// --- names, time, stats -----------------------------------------------------------------------

class FName
{
public:
	FName() = default;
	FName(const TCHAR* Name) : Text(Name) {}

	FString ToString() const { return Text; }
	/** Case-insensitive, like Unreal's. */
	friend bool operator==(const FName& Lhs, const FName& Rhs) { return Lhs.Text == Rhs.Text; }

private:
	FString Text;
};

/** A moment in UTC, in 100 ns ticks since 0001-01-01. */
class FDateTime
{
public:
	FDateTime() = default;
	explicit FDateTime(int64 InTicks) : Ticks(InTicks) {}

	static FDateTime FromUnixTimestamp(int64 UnixTime) { return FDateTime(UnixEpochTicks + UnixTime * TicksPerSecond); }
	int64 ToUnixTimestamp() const { return (Ticks - UnixEpochTicks) / TicksPerSecond; }

private:
	static constexpr int64 TicksPerSecond = 10000000;
	static constexpr int64 UnixEpochTicks = 621355968000000000;
	int64 Ticks = 0;
};

/** Stats are compiled out (STATS 0): an empty id. */
struct TStatId
{
};
#define RETURN_QUICK_DECLARE_CYCLE_STAT(StatId, GroupId) return TStatId();

// --- logging ----------------------------------------------------------------------------------

namespace ELogVerbosity
{
	enum Type : uint8 { NoLogging = 0, Fatal, Error, Warning, Display, Log, Verbose, VeryVerbose, All = VeryVerbose };
}

struct FLogCategoryBase
{
	explicit FLogCategoryBase(const TCHAR* InCategoryName) : CategoryName(InCategoryName) {}
	const TCHAR* GetCategoryName() const { return CategoryName; }

private:
	const TCHAR* CategoryName;
};

template <ELogVerbosity::Type InDefaultVerbosity, ELogVerbosity::Type InCompileTimeVerbosity>
struct FLogCategory : public FLogCategoryBase
{
	explicit FLogCategory(const TCHAR* InCategoryName) : FLogCategoryBase(InCategoryName) {}
};

#define DECLARE_LOG_CATEGORY_EXTERN(CategoryName, DefaultVerbosity, CompileTimeVerbosity) \
	extern struct FLogCategory##CategoryName : public FLogCategory<ELogVerbosity::DefaultVerbosity, ELogVerbosity::CompileTimeVerbosity> \
	{ \
		FLogCategory##CategoryName() : FLogCategory(TEXT(#CategoryName)) {} \
	} CategoryName;

#define DEFINE_LOG_CATEGORY(CategoryName) FLogCategory##CategoryName CategoryName;

namespace UEStandIn
{
	/** Writes "Category: Verbosity: message" to stderr; Fatal aborts. */
	template <typename... Types>
	void Log(const FLogCategoryBase& Category, ELogVerbosity::Type Verbosity, TFormatString<std::type_identity_t<Types>...> Fmt,
		Types... Args)
	{
		static const char* const Names[] = {"", "Fatal: ", "Error: ", "Warning: ", "", "", "Verbose: ", "VeryVerbose: "};
		const std::u16string Message = Format(Fmt.Format, Args...);
		const std::u16string Name = Category.GetCategoryName();
		std::fprintf(stderr, "%s: %s%s\n", Utf16ToUtf8(Name.data(), Name.size()).c_str(), Names[Verbosity],
			Utf16ToUtf8(Message.data(), Message.size()).c_str());
		if (Verbosity == ELogVerbosity::Fatal)
		{
			AssertionFailed("UE_LOG Fatal", __FILE__, __LINE__);
		}
	}
}

#define UE_LOG(CategoryName, Verbosity, Format, ...) \
	{ ::UEStandIn::Log(CategoryName, ::ELogVerbosity::Verbosity, Format __VA_OPT__(,) __VA_ARGS__); }

#include "Templates/Function.h"
#include "Templates/UniquePtr.h"
#include "UObject/ObjectMacros.h"
