// STAND-IN FOR TESTS, NEVER SHIPPED (see CoreMinimal.h): the reflection markup, read by
// UnrealHeaderTool and empty for the compiler, and the dynamic multicast delegates (which UHT
// would generate): a list of lambdas that Broadcast calls in order.
//
// GENERATED_BODY() declares nothing here. UHT's declares Super (the direct base class), which
// plugin code calls as Super::Initialize(...): each engine class of the stand-in that the plugin
// derives from declares `using Super = <itself>;`, so that in a class deriving from it directly
// Super names that base, as UHT's would.

#pragma once

#include "CoreMinimal.h"

#define UCLASS(...)
#define USTRUCT(...)
#define UENUM(...)
#define UPROPERTY(...)
#define UFUNCTION(...)
#define UMETA(...)
#define GENERATED_BODY(...)

namespace UEStandIn
{
	template <typename... ParamTypes>
	class TDynamicMulticastDelegate
	{
	public:
		/** Calls every bound function, in the order bound (on a copy of the list, as Unreal does). */
		void Broadcast(ParamTypes... Params) const
		{
			const std::vector<std::function<void(ParamTypes...)>> Invocations = InvocationList;
			for (const std::function<void(ParamTypes...)>& Invocation : Invocations)
			{
				Invocation(Params...);
			}
		}
		bool IsBound() const { return !InvocationList.empty(); }
		void Clear() { InvocationList.clear(); }

		/** Test hook: Unreal binds UFUNCTIONs (AddDynamic); tests bind lambdas. */
		template <typename FunctorType>
		void AddLambdaForTest(FunctorType&& Functor)
		{
			InvocationList.emplace_back(std::forward<FunctorType>(Functor));
		}

	private:
		std::vector<std::function<void(ParamTypes...)>> InvocationList;
	};
}

#define DECLARE_DYNAMIC_MULTICAST_DELEGATE_OneParam(DelegateName, Param1Type, Param1Name) \
	class DelegateName : public ::UEStandIn::TDynamicMulticastDelegate<Param1Type> {}
#define DECLARE_DYNAMIC_MULTICAST_DELEGATE_TwoParams(DelegateName, Param1Type, Param1Name, Param2Type, Param2Name) \
	class DelegateName : public ::UEStandIn::TDynamicMulticastDelegate<Param1Type, Param2Type> {}
#define DECLARE_DYNAMIC_MULTICAST_DELEGATE_ThreeParams(DelegateName, Param1Type, Param1Name, Param2Type, Param2Name, Param3Type, Param3Name) \
	class DelegateName : public ::UEStandIn::TDynamicMulticastDelegate<Param1Type, Param2Type, Param3Type> {}
