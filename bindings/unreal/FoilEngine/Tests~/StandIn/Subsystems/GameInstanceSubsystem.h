// STAND-IN FOR TESTS, NEVER SHIPPED (see CoreMinimal.h): subsystems and their collection. The
// engine (here: the test) makes a game instance subsystem with the game instance as its outer,
// adds it to the instance's collection and calls Initialize, and Deinitialize at shutdown.

#pragma once

#include "CoreMinimal.h"
#include "UObject/Object.h"

class FSubsystemCollectionBase;
class UGameInstance;

class USubsystem : public UObject
{
public:
	virtual void Initialize(FSubsystemCollectionBase& /*Collection*/) {}
	virtual void Deinitialize() {}
};

class FSubsystemCollectionBase
{
public:
	template <typename TSubsystemClass>
	TSubsystemClass* GetSubsystem() const
	{
		for (USubsystem* Subsystem : Subsystems)
		{
			if (TSubsystemClass* Found = dynamic_cast<TSubsystemClass*>(Subsystem))
			{
				return Found;
			}
		}
		return nullptr;
	}

	/** Test hook: what the engine does with each subsystem it creates. */
	void AddSubsystemForTest(USubsystem* Subsystem) { Subsystems.Add(Subsystem); }

private:
	TArray<USubsystem*> Subsystems;
};

class UGameInstanceSubsystem : public USubsystem
{
public:
	using Super = UGameInstanceSubsystem;  // see UObject/ObjectMacros.h

	/** The game instance (the outer); defined in Engine/GameInstance.h. */
	UGameInstance* GetGameInstance() const;
};
