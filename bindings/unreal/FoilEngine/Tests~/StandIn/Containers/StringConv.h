// STAND-IN FOR TESTS, NEVER SHIPPED (see CoreMinimal.h): UTF-8 <-> TCHAR (UTF-16) conversion
// buffers. With a length given, the source need not be NUL-terminated; Length() excludes the
// terminator.

#pragma once

#include "CoreMinimal.h"

#include <cstring>

class FUTF8ToTCHAR
{
public:
	FUTF8ToTCHAR(const ANSICHAR* Source, int32 SourceLen)
	{
		check(SourceLen >= 0 && (SourceLen == 0 || Source != nullptr));
		Converted = UEStandIn::Utf8ToUtf16(Source, static_cast<std::size_t>(SourceLen));
	}
	explicit FUTF8ToTCHAR(const ANSICHAR* Source) : FUTF8ToTCHAR(Source, static_cast<int32>(std::strlen(Source))) {}
	FUTF8ToTCHAR(const FUTF8ToTCHAR&) = delete;
	FUTF8ToTCHAR& operator=(const FUTF8ToTCHAR&) = delete;

	const TCHAR* Get() const { return Converted.c_str(); }
	int32 Length() const { return static_cast<int32>(Converted.size()); }

private:
	std::u16string Converted;
};

class FTCHARToUTF8
{
public:
	FTCHARToUTF8(const TCHAR* Source, int32 SourceLen)
	{
		check(SourceLen >= 0 && (SourceLen == 0 || Source != nullptr));
		Converted = UEStandIn::Utf16ToUtf8(Source, static_cast<std::size_t>(SourceLen));
	}
	explicit FTCHARToUTF8(const TCHAR* Source) : FTCHARToUTF8(Source, static_cast<int32>(std::char_traits<TCHAR>::length(Source))) {}
	FTCHARToUTF8(const FTCHARToUTF8&) = delete;
	FTCHARToUTF8& operator=(const FTCHARToUTF8&) = delete;

	const ANSICHAR* Get() const { return Converted.c_str(); }
	int32 Length() const { return static_cast<int32>(Converted.size()); }

private:
	std::string Converted;
};
