// The one place Unreal code includes foil.hpp (the header-only C++17 wrapper of libfoil's C
// API) from: include this header, never foil.hpp directly, so every translation unit sees the
// same configuration. Also the conversions between foil.hpp's std::string world and Unreal's.

#pragma once

#include "CoreMinimal.h"
#include "FoilTypes.h"

// Unreal builds without C++ exceptions: foil.hpp then reports every failure through
// foil::Result only, and its precondition checks (value() on an error, ...) use Unreal's check().
#ifndef FOIL_HPP_NO_EXCEPTIONS
#define FOIL_HPP_NO_EXCEPTIONS 1
#endif
#ifndef FOIL_HPP_ASSERT
#define FOIL_HPP_ASSERT(c) check(c)
#endif

THIRD_PARTY_INCLUDES_START
#include "foil.hpp"
THIRD_PARTY_INCLUDES_END

#include <string>
#include <string_view>

/** Conversions between foil.hpp's types (UTF-8 std::string) and the Unreal ones of FoilTypes.h. */
namespace FoilUnreal
{
	/** UTF-8 text (a payload, a field of a response) as an FString. */
	FOILENGINE_API FString ToFString(std::string_view Utf8);

	/** An FString as UTF-8, for foil::Client's arguments. */
	FOILENGINE_API std::string ToStd(const FString& Text);

	FOILENGINE_API FFoilError ToUnreal(const foil::Error& Error);
	FOILENGINE_API FFoilUnlockedMachine ToUnreal(const foil::UnlockedMachine& Machine);
	FOILENGINE_API FFoilChatResponse ToUnreal(const foil::ChatResponse& Reply);
	FOILENGINE_API FFoilSessionInit ToUnreal(const foil::SessionInit& Session);
	FOILENGINE_API FFoilPersona ToUnreal(const foil::Persona& Persona);
	FOILENGINE_API FFoilMachine ToUnreal(const foil::MachineInfo& Machine);
	FOILENGINE_API FFoilSessionStatus ToUnreal(const foil::SessionStatus& Status);
	FOILENGINE_API FFoilHistory ToUnreal(const foil::ChatHistory& History);
	FOILENGINE_API FFoilLlmKeyCheck ToUnreal(const foil::LlmKeyValidation& Check);
	FOILENGINE_API FFoilGameEvent ToUnreal(const foil::StateChange& Event);
	FOILENGINE_API FFoilGameEvent ToUnreal(const foil::ScoreChange& Event);
	FOILENGINE_API FFoilGameEvent ToUnreal(const foil::MachineCompleted& Event);
	FOILENGINE_API FFoilGameEvent ToUnreal(const foil::MachinesUnlocked& Event);
	FOILENGINE_API FFoilGameEvent ToUnreal(const foil::SessionEnded& Event);

	/** A locally made error (bLocal), e.g. for a request made while not connected. */
	FOILENGINE_API FFoilError MakeLocalError(const FString& Code, const FString& Message);
}
