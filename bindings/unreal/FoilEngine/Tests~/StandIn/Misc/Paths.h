// STAND-IN FOR TESTS, NEVER SHIPPED (see CoreMinimal.h): path helpers.

#pragma once

#include "CoreMinimal.h"

class FPaths
{
public:
	/** Here: the path unchanged (no base directory to resolve against). */
	static FString ConvertRelativePathToFull(const FString& InPath) { return InPath; }

	/** The parts joined with '/'. */
	template <typename... PathTypes>
	static FString Combine(PathTypes&&... InPaths)
	{
		FString Out;
		(Append(Out, FString(InPaths)), ...);
		return Out;
	}

private:
	static void Append(FString& Out, const FString& Part)
	{
		if (!Out.IsEmpty() && !Part.IsEmpty())
		{
			Out += TEXT("/");
		}
		Out += Part;
	}
};
