#pragma once

#include "CoreMinimal.h"
#include "Engine/DeveloperSettings.h"

#include "FoilSettings.generated.h"

/**
 * Project Settings › Plugins › Foil Engine, saved in Config/DefaultGame.ini under
 * [/Script/FoilEngine.FoilSettings]. UFoilEngineSubsystem creates its client from these when the
 * game instance starts (if bConnectOnStartup), and again on Connect().
 *
 * Whatever is set here ships inside the game. The API key is meant for that; LLM provider keys
 * usually are not: leave them empty (the server's operator configures the provider) or pass a
 * player's own key at run time with UFoilEngineSubsystem::ConnectWith.
 */
UCLASS(Config = Game, DefaultConfig, meta = (DisplayName = "Foil Engine"))
class FOILENGINE_API UFoilSettings : public UDeveloperSettings
{
	GENERATED_BODY()

public:
	virtual FName GetCategoryName() const override { return FName(TEXT("Plugins")); }

	/** The Foil Engine server (yours, e.g. http://127.0.0.1:8000, or the hosted one). Empty: https://api.foilengine.io. */
	UPROPERTY(Config, EditAnywhere, BlueprintReadOnly, Category = "Connection")
	FString BaseUrl = TEXT("https://api.foilengine.io");

	/**
	 * The game's API key (pk_live_...), sent as X-API-Key. Required to connect on startup. For
	 * player tokens from your backend, leave it empty and turn bConnectOnStartup off: call
	 * ConnectWith with the token, then SetApiKey on OnCredentialExpiring.
	 */
	UPROPERTY(Config, EditAnywhere, BlueprintReadOnly, Category = "Connection")
	FString ApiKey;

	/** Create the client when the game instance starts. Off: call Connect or ConnectWith yourself. */
	UPROPERTY(Config, EditAnywhere, BlueprintReadOnly, Category = "Connection")
	bool bConnectOnStartup = true;

	/** Time limit of each attempt of an ordinary request, in seconds (0: 30 s). */
	UPROPERTY(Config, EditAnywhere, BlueprintReadOnly, Category = "Connection", meta = (ClampMin = "0", Units = "s"))
	float TimeoutSeconds = 0.f;

	/** Time limit of a whole streamed reply, in seconds (0: 120 s). */
	UPROPERTY(Config, EditAnywhere, BlueprintReadOnly, Category = "Connection", meta = (ClampMin = "0", Units = "s"))
	float StreamTimeoutSeconds = 0.f;

	/** Retries on 429/5xx and network errors, waiting as the server asks (-1: 3; 0: none). Streams are never retried. */
	UPROPERTY(Config, EditAnywhere, BlueprintReadOnly, Category = "Connection", meta = (ClampMin = "-1"))
	int32 MaxRetries = -1;

	/** How long the persona list is answered from the client's cache, in seconds (0: 60 s). */
	UPROPERTY(Config, EditAnywhere, BlueprintReadOnly, Category = "Connection", meta = (ClampMin = "0", Units = "s"))
	float PersonaCacheTtlSeconds = 0.f;

	/** At most this many events are handled per frame (0: all that are queued). */
	UPROPERTY(Config, EditAnywhere, BlueprintReadOnly, Category = "Connection", meta = (ClampMin = "0"))
	int32 MaxEventsPerTick = 0;

	/** X-LLM-API-Key: the provider key for every pipeline step. Empty: the server's own. */
	UPROPERTY(Config, EditAnywhere, Category = "LLM", meta = (PasswordField = true))
	FString LlmApiKey;

	/** X-LLM-Model: the model for every step (e.g. openai/gpt-4o-mini). Empty: the server's default. */
	UPROPERTY(Config, EditAnywhere, BlueprintReadOnly, Category = "LLM")
	FString LlmModel;

	/** X-LLM-Eval-Model. */
	UPROPERTY(Config, EditAnywhere, BlueprintReadOnly, Category = "LLM", AdvancedDisplay)
	FString LlmEvalModel;

	/** X-LLM-Response-Model. */
	UPROPERTY(Config, EditAnywhere, BlueprintReadOnly, Category = "LLM", AdvancedDisplay)
	FString LlmResponseModel;

	/** X-LLM-Summarization-Model. */
	UPROPERTY(Config, EditAnywhere, BlueprintReadOnly, Category = "LLM", AdvancedDisplay)
	FString LlmSummarizationModel;

	/** X-LLM-Eval-API-Key. */
	UPROPERTY(Config, EditAnywhere, Category = "LLM", AdvancedDisplay, meta = (PasswordField = true))
	FString LlmEvalApiKey;

	/** X-LLM-Response-API-Key. */
	UPROPERTY(Config, EditAnywhere, Category = "LLM", AdvancedDisplay, meta = (PasswordField = true))
	FString LlmResponseApiKey;

	/** X-LLM-Summarization-API-Key. */
	UPROPERTY(Config, EditAnywhere, Category = "LLM", AdvancedDisplay, meta = (PasswordField = true))
	FString LlmSummarizationApiKey;
};
