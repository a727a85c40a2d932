// STAND-IN FOR TESTS, NEVER SHIPPED (see CoreMinimal.h): GEngine, which finds the world of a
// world context object (the test creates it).

#pragma once

#include "CoreMinimal.h"
#include "UObject/Object.h"

enum class EGetWorldErrorMode
{
	ReturnNull,
	LogAndReturnNull,
	Assert,
};

class UEngine : public UObject
{
public:
	UWorld* GetWorldFromContextObject(const UObject* Object, EGetWorldErrorMode ErrorMode) const
	{
		UWorld* World = Object != nullptr ? Object->GetWorld() : nullptr;
		if (World == nullptr && ErrorMode == EGetWorldErrorMode::Assert)
		{
			UEStandIn::AssertionFailed("no world for this world context object", __FILE__, __LINE__);
		}
		return World;
	}
};

inline UEngine* GEngine = nullptr;
