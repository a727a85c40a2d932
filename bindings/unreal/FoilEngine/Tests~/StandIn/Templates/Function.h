// STAND-IN FOR TESTS, NEVER SHIPPED (see CoreMinimal.h): Unreal's TFunction, a copyable
// type-erased callable. Calling an unbound one fails a check, as in Unreal.

#pragma once

#include "CoreMinimal.h"

template <typename FuncType>
class TFunction;

template <typename Ret, typename... ParamTypes>
class TFunction<Ret(ParamTypes...)>
{
public:
	TFunction(std::nullptr_t = nullptr) {}

	template <typename FunctorType,
		typename = std::enable_if_t<!std::is_same_v<std::decay_t<FunctorType>, TFunction> &&
			std::is_invocable_r_v<Ret, std::decay_t<FunctorType>&, ParamTypes...>>>
	TFunction(FunctorType&& InFunc) : Func(std::forward<FunctorType>(InFunc))
	{
	}

	Ret operator()(ParamTypes... Params) const
	{
		check(Func);
		return Func(std::forward<ParamTypes>(Params)...);
	}

	explicit operator bool() const { return static_cast<bool>(Func); }

private:
	std::function<Ret(ParamTypes...)> Func;
};
