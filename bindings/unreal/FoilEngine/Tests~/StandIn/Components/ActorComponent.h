// STAND-IN FOR TESTS, NEVER SHIPPED (see CoreMinimal.h): the base of actor components. The
// engine (here: the test) calls BeginPlay once the component's actor is in play and EndPlay when
// it leaves; the component's world is its outer's.

#pragma once

#include "CoreMinimal.h"
#include "UObject/Object.h"

namespace EEndPlayReason
{
	enum Type
	{
		Destroyed,
		LevelTransition,
		EndPlayInEditor,
		RemovedFromWorld,
		Quit,
	};
}

class UActorComponent : public UObject
{
public:
	using Super = UActorComponent;  // see UObject/ObjectMacros.h

	virtual void BeginPlay() { bHasBegunPlay = true; }
	virtual void EndPlay(const EEndPlayReason::Type /*EndPlayReason*/) { bHasBegunPlay = false; }
	bool HasBegunPlay() const { return bHasBegunPlay; }

private:
	bool bHasBegunPlay = false;
};
