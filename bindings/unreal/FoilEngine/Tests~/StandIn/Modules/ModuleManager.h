// STAND-IN FOR TESTS, NEVER SHIPPED (see CoreMinimal.h): the module manager, with modules
// linked into the program (IMPLEMENT_MODULE registers them at static initialization, as in a
// monolithic build). The test loads and unloads them, as the engine does at start and exit.

#pragma once

#include "CoreMinimal.h"
#include "Modules/ModuleInterface.h"

class FModuleManager
{
public:
	static FModuleManager& Get()
	{
		static FModuleManager Manager;
		return Manager;
	}

	/** The module if it is loaded, else nullptr. */
	template <typename TModuleInterface>
	static TModuleInterface* GetModulePtr(const FName ModuleName)
	{
		return static_cast<TModuleInterface*>(Get().GetModule(ModuleName));
	}

	IModuleInterface* GetModule(const FName ModuleName)
	{
		FModule* Module = Find(ModuleName);
		return Module != nullptr ? Module->Loaded.Get() : nullptr;
	}

	/** Makes the module (once) and calls its StartupModule. */
	IModuleInterface* LoadModule(const FName InModuleName)
	{
		FModule* Module = Find(InModuleName);
		if (Module == nullptr)
		{
			return nullptr;
		}
		if (!Module->Loaded.IsValid())
		{
			Module->Loaded.Reset(Module->Initializer());
			Module->Loaded->StartupModule();
		}
		return Module->Loaded.Get();
	}

	/** Calls the module's ShutdownModule and destroys it; false if it was not loaded. */
	bool UnloadModule(const FName InModuleName, bool bIsShutdown = false)
	{
		static_cast<void>(bIsShutdown);
		FModule* Module = Find(InModuleName);
		if (Module == nullptr || !Module->Loaded.IsValid())
		{
			return false;
		}
		Module->Loaded->ShutdownModule();
		Module->Loaded.Reset();
		return true;
	}

	void RegisterStaticallyLinkedModule(const FName InModuleName, TFunction<IModuleInterface*()> InInitializer)
	{
		Modules.push_back(FModule{InModuleName, MoveTemp(InInitializer), nullptr});
	}

private:
	struct FModule
	{
		FName Name;
		TFunction<IModuleInterface*()> Initializer;
		TUniquePtr<IModuleInterface> Loaded;
	};

	FModule* Find(const FName& ModuleName)
	{
		for (FModule& Module : Modules)
		{
			if (Module.Name == ModuleName)
			{
				return &Module;
			}
		}
		return nullptr;
	}

	std::vector<FModule> Modules;
};

template <class ModuleClass>
class FStaticallyLinkedModuleRegistrant
{
public:
	explicit FStaticallyLinkedModuleRegistrant(const TCHAR* InModuleName)
	{
		FModuleManager::Get().RegisterStaticallyLinkedModule(InModuleName, []() -> IModuleInterface* { return new ModuleClass(); });
	}
};

#define IMPLEMENT_MODULE(ModuleImplClass, ModuleName) \
	static FStaticallyLinkedModuleRegistrant<ModuleImplClass> ModuleRegistrant##ModuleName(TEXT(#ModuleName));
