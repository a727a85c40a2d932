// STAND-IN FOR TESTS, NEVER SHIPPED (see CoreMinimal.h): UObject, NewObject, the class default
// objects (GetDefault), TWeakObjectPtr and a garbage collector that destroys only the objects
// marked as garbage (Unreal's also destroys unreferenced ones; this one cannot see references).
// Objects not collected are destroyed when the program exits.

#pragma once

#include "CoreMinimal.h"

#include <unordered_map>

class UObject;
class UWorld;

enum EObjectFlags : uint32
{
	RF_NoFlags = 0x0,
	RF_ClassDefaultObject = 0x10,
	RF_ArchetypeObject = 0x20,
};
constexpr EObjectFlags operator|(EObjectFlags Lhs, EObjectFlags Rhs)
{
	return static_cast<EObjectFlags>(static_cast<uint32>(Lhs) | static_cast<uint32>(Rhs));
}

namespace UEStandIn
{
	class FObjectRegistry;
}

template <typename T>
class TWeakObjectPtr;

/** Makes an object of class T (default-constructed) inside Outer. */
template <typename T>
T* NewObject(UObject* Outer = nullptr);

class UObject
{
public:
	UObject();
	virtual ~UObject();
	UObject(const UObject&) = delete;
	UObject& operator=(const UObject&) = delete;

	UObject* GetOuter() const { return Outer; }
	/** The world this object is in: its outer's (UWorld overrides it). */
	virtual UWorld* GetWorld() const { return Outer != nullptr && !IsTemplate() ? Outer->GetWorld() : nullptr; }

	bool HasAnyFlags(EObjectFlags FlagsToCheck) const { return (Flags & FlagsToCheck) != 0; }
	/** True for class default objects and archetypes. */
	bool IsTemplate(EObjectFlags TemplateTypes = RF_ArchetypeObject | RF_ClassDefaultObject) const
	{
		return HasAnyFlags(TemplateTypes);
	}
	/** The next CollectGarbage destroys the object; weak pointers to it are null from now on. */
	void MarkAsGarbage()
	{
		check(!HasAnyFlags(RF_ClassDefaultObject));
		bGarbage = true;
	}

private:
	friend class UEStandIn::FObjectRegistry;
	template <typename T>
	friend class TWeakObjectPtr;
	friend bool IsValid(const UObject* Test);

	UObject* Outer = nullptr;
	EObjectFlags Flags = RF_NoFlags;
	uint64 SerialNumber = 0;
	bool bGarbage = false;
};

/** Not null and not marked as garbage. */
inline bool IsValid(const UObject* Test)
{
	return Test != nullptr && !Test->bGarbage;
}

namespace UEStandIn
{
	/** Every object alive (by serial number, never reused) and the ones NewObject made. */
	class FObjectRegistry
	{
	public:
		static FObjectRegistry& Get()
		{
			static FObjectRegistry Registry;
			return Registry;
		}

		~FObjectRegistry()
		{
			std::vector<UObject*> Remaining;
			Remaining.swap(Owned);
			for (UObject* Object : Remaining)
			{
				delete Object;
			}
		}

		uint64 Register(UObject* Object)
		{
			Live.emplace(NextSerialNumber, Object);
			return NextSerialNumber++;
		}
		void Unregister(uint64 SerialNumber) { Live.erase(SerialNumber); }
		bool IsAlive(const UObject* Object, uint64 SerialNumber) const
		{
			const auto Found = Live.find(SerialNumber);
			return Found != Live.end() && Found->second == Object;
		}

		template <typename T>
		T* Create(UObject* Outer, EObjectFlags Flags)
		{
			static_assert(std::is_base_of_v<UObject, T>, "NewObject makes UObjects");
			T* Object = new T();
			Object->Outer = Outer;
			Object->Flags = Flags;
			Owned.push_back(Object);
			return Object;
		}

		void CollectGarbage()
		{
			std::vector<UObject*> Collected;
			std::vector<UObject*> Kept;
			for (UObject* Object : Owned)
			{
				(Object->bGarbage ? Collected : Kept).push_back(Object);
			}
			Owned.swap(Kept);
			for (UObject* Object : Collected)
			{
				delete Object;
			}
		}

	private:
		std::unordered_map<uint64, UObject*> Live;
		std::vector<UObject*> Owned;
		uint64 NextSerialNumber = 1;
	};
}

inline UObject::UObject() : SerialNumber(UEStandIn::FObjectRegistry::Get().Register(this)) {}
inline UObject::~UObject() { UEStandIn::FObjectRegistry::Get().Unregister(SerialNumber); }

template <typename T>
T* NewObject(UObject* Outer)
{
	return UEStandIn::FObjectRegistry::Get().Create<T>(Outer, RF_NoFlags);
}

/** The class default object, whose properties hold the values of the config files. */
template <typename T>
T* GetMutableDefault()
{
	static T* const Default = UEStandIn::FObjectRegistry::Get().Create<T>(nullptr, RF_ClassDefaultObject);
	return Default;
}

template <typename T>
const T* GetDefault()
{
	return GetMutableDefault<T>();
}

/** Destroys the objects marked as garbage (see the top of this file). */
inline void CollectGarbage(EObjectFlags KeepFlags, bool bPerformFullPurge = true)
{
	static_cast<void>(KeepFlags);
	static_cast<void>(bPerformFullPurge);
	UEStandIn::FObjectRegistry::Get().CollectGarbage();
}

/** A pointer that turns null when its object is marked as garbage or destroyed. */
template <typename T>
class TWeakObjectPtr
{
public:
	TWeakObjectPtr() = default;
	TWeakObjectPtr(std::nullptr_t) {}
	template <typename U, typename = std::enable_if_t<std::is_convertible_v<U*, T*>>>
	TWeakObjectPtr(U* InObject)
	{
		Set(InObject);
	}
	template <typename U, typename = std::enable_if_t<std::is_convertible_v<U*, T*>>>
	TWeakObjectPtr& operator=(U* InObject)
	{
		Set(InObject);
		return *this;
	}

	T* Get() const
	{
		return Base != nullptr && UEStandIn::FObjectRegistry::Get().IsAlive(Base, SerialNumber) && ::IsValid(Base) ? Object : nullptr;
	}
	bool IsValid() const { return Get() != nullptr; }
	void Reset() { Set<T>(nullptr); }

	friend bool operator==(const TWeakObjectPtr& Lhs, const TWeakObjectPtr& Rhs)
	{
		return Lhs.Base == Rhs.Base && Lhs.SerialNumber == Rhs.SerialNumber;
	}

private:
	template <typename U>
	void Set(U* InObject)
	{
		Object = InObject;
		Base = InObject;
		SerialNumber = InObject != nullptr ? static_cast<const UObject*>(InObject)->SerialNumber : 0;
	}

	T* Object = nullptr;
	const UObject* Base = nullptr;
	uint64 SerialNumber = 0;
};
