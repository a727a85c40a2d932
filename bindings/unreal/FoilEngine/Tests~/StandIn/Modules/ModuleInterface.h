// STAND-IN FOR TESTS, NEVER SHIPPED (see CoreMinimal.h): the interface of a module.

#pragma once

#include "CoreMinimal.h"

class IModuleInterface
{
public:
	virtual ~IModuleInterface() = default;
	virtual void StartupModule() {}
	virtual void ShutdownModule() {}
};
