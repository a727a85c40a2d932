// STAND-IN FOR TESTS, NEVER SHIPPED (see CoreMinimal.h): a world and its game instance.

#pragma once

#include "CoreMinimal.h"
#include "UObject/Object.h"

class UGameInstance;

class UWorld : public UObject
{
public:
	UWorld* GetWorld() const override { return const_cast<UWorld*>(this); }
	UGameInstance* GetGameInstance() const { return OwningGameInstance; }

	UGameInstance* OwningGameInstance = nullptr;
};
