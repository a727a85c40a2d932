// STAND-IN FOR TESTS, NEVER SHIPPED (see CoreMinimal.h): the game instance, its subsystems and
// the objects it keeps from garbage collection (RegisterReferencedObject: the async actions).

#pragma once

#include "CoreMinimal.h"
#include "Subsystems/GameInstanceSubsystem.h"
#include "UObject/Object.h"

class UGameInstance : public UObject
{
public:
	UWorld* GetWorld() const override { return World; }

	template <typename TSubsystemClass>
	TSubsystemClass* GetSubsystem() const
	{
		return SubsystemCollection.GetSubsystem<TSubsystemClass>();
	}

	void RegisterReferencedObject(UObject* ObjectToReference) { ReferencedObjects.AddUnique(ObjectToReference); }
	void UnregisterReferencedObject(UObject* ObjectToReference) { ReferencedObjects.Remove(ObjectToReference); }

	// Public here for the test, which plays the engine: the world of the instance's world
	// context, the subsystem collection, and what RegisterReferencedObject keeps.
	UWorld* World = nullptr;
	FSubsystemCollectionBase SubsystemCollection;
	TArray<TWeakObjectPtr<UObject>> ReferencedObjects;
};

inline UGameInstance* UGameInstanceSubsystem::GetGameInstance() const
{
	return dynamic_cast<UGameInstance*>(GetOuter());
}
