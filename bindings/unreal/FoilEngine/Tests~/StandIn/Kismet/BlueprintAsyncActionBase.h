// STAND-IN FOR TESTS, NEVER SHIPPED (see CoreMinimal.h): the base of Blueprint async nodes.
// Registering with the game instance keeps the action from garbage collection until
// SetReadyToDestroy; the Blueprint VM (here: the test) calls Activate after the factory.

#pragma once

#include "CoreMinimal.h"
#include "Engine/Engine.h"
#include "Engine/GameInstance.h"
#include "Engine/World.h"
#include "UObject/Object.h"

class UBlueprintAsyncActionBase : public UObject
{
public:
	using Super = UBlueprintAsyncActionBase;  // see UObject/ObjectMacros.h

	virtual void Activate() {}

	virtual void RegisterWithGameInstance(const UObject* WorldContextObject)
	{
		UWorld* World = GEngine != nullptr
			? GEngine->GetWorldFromContextObject(WorldContextObject, EGetWorldErrorMode::LogAndReturnNull)
			: nullptr;
		if (World != nullptr && World->GetGameInstance() != nullptr)
		{
			RegisterWithGameInstance(World->GetGameInstance());
		}
	}

	virtual void RegisterWithGameInstance(UGameInstance* GameInstance)
	{
		if (GameInstance != nullptr)
		{
			if (UGameInstance* OldGameInstance = RegisteredWithGameInstance.Get())
			{
				OldGameInstance->UnregisterReferencedObject(this);
			}
			GameInstance->RegisterReferencedObject(this);
			RegisteredWithGameInstance = GameInstance;
		}
	}

	virtual void SetReadyToDestroy()
	{
		if (UGameInstance* OldGameInstance = RegisteredWithGameInstance.Get())
		{
			OldGameInstance->UnregisterReferencedObject(this);
		}
	}

protected:
	TWeakObjectPtr<UGameInstance> RegisteredWithGameInstance;
};
