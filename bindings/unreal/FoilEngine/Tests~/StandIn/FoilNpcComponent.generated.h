// STAND-IN FOR TESTS, NEVER SHIPPED (see CoreMinimal.h): in Unreal, UnrealHeaderTool generates
// this header (reflection code); the stand-in needs none of it.

#pragma once
