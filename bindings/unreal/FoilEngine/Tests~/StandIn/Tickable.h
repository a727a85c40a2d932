// STAND-IN FOR TESTS, NEVER SHIPPED (see CoreMinimal.h): FTickableGameObject. Nothing ticks it
// by itself: the test calls Tick once per frame as the engine's tickable manager would (only
// when GetTickableTickType() is not Never and, for Conditional, IsTickable()).

#pragma once

#include "CoreMinimal.h"

class UWorld;

enum class ETickableTickType : uint8
{
	Conditional,
	Always,
	Never,
};

class FTickableGameObject
{
public:
	virtual ~FTickableGameObject() = default;

	virtual void Tick(float DeltaTime) = 0;
	virtual ETickableTickType GetTickableTickType() const { return ETickableTickType::Conditional; }
	virtual bool IsTickable() const { return true; }
	virtual bool IsTickableWhenPaused() const { return false; }
	virtual bool IsTickableInEditor() const { return false; }
	virtual UWorld* GetTickableGameObjectWorld() const { return nullptr; }
	virtual TStatId GetStatId() const = 0;
};
