// STAND-IN FOR TESTS, NEVER SHIPPED (see CoreMinimal.h): Unreal's TUniquePtr and MakeUnique.

#pragma once

#include "CoreMinimal.h"

template <typename T>
class TUniquePtr
{
public:
	TUniquePtr() = default;
	TUniquePtr(std::nullptr_t) {}
	explicit TUniquePtr(T* InPtr) : Ptr(InPtr) {}
	TUniquePtr(TUniquePtr&&) = default;
	TUniquePtr& operator=(TUniquePtr&&) = default;

	T* Get() const { return Ptr.get(); }
	bool IsValid() const { return Ptr != nullptr; }
	explicit operator bool() const { return IsValid(); }
	T* operator->() const
	{
		check(IsValid());
		return Ptr.get();
	}
	T& operator*() const
	{
		check(IsValid());
		return *Ptr;
	}
	void Reset(T* InPtr = nullptr) { Ptr.reset(InPtr); }

private:
	std::unique_ptr<T> Ptr;
};

template <typename T, typename... TArgs>
TUniquePtr<T> MakeUnique(TArgs&&... Args)
{
	return TUniquePtr<T>(new T(std::forward<TArgs>(Args)...));
}
