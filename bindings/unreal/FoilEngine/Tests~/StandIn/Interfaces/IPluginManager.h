// STAND-IN FOR TESTS, NEVER SHIPPED (see CoreMinimal.h): the plugin manager, which knows no
// plugins here.

#pragma once

#include "CoreMinimal.h"

class IPlugin
{
public:
	virtual ~IPlugin() = default;
	/** The plugin's folder (the one with its .uplugin). */
	virtual FString GetBaseDir() const = 0;
};

class IPluginManager
{
public:
	virtual ~IPluginManager() = default;
	static IPluginManager& Get()
	{
		static IPluginManager Manager;
		return Manager;
	}
	virtual TSharedPtr<IPlugin> FindPlugin(const FString& Name)
	{
		static_cast<void>(Name);
		return nullptr;
	}
};
