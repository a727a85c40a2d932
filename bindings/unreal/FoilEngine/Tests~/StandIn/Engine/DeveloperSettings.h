// STAND-IN FOR TESTS, NEVER SHIPPED (see CoreMinimal.h): the base of project settings classes.
// Their values are those of the class default object (GetDefault / GetMutableDefault), which
// Unreal loads from the config files and the test sets directly.

#pragma once

#include "CoreMinimal.h"
#include "UObject/Object.h"

class UDeveloperSettings : public UObject
{
public:
	using Super = UDeveloperSettings;  // see UObject/ObjectMacros.h

	virtual FName GetCategoryName() const { return FName(TEXT("Game")); }
};
