#include "FoilNative.h"

#include "Containers/StringConv.h"

namespace
{
	// Scores are small in practice; clamping keeps a hostile or buggy value from wrapping.
	int32 ToInt32(std::int64_t Value)
	{
		return static_cast<int32>(FMath::Clamp<int64>(static_cast<int64>(Value), MIN_int32, MAX_int32));
	}

	FString ToFString(const std::optional<std::string>& Text)
	{
		return Text ? FoilUnreal::ToFString(*Text) : FString();
	}

	TArray<FFoilUnlockedMachine> ToUnreal(const std::vector<foil::UnlockedMachine>& Machines)
	{
		TArray<FFoilUnlockedMachine> Out;
		Out.Reserve(static_cast<int32>(Machines.size()));
		for (const foil::UnlockedMachine& Machine : Machines)
		{
			Out.Add(FoilUnreal::ToUnreal(Machine));
		}
		return Out;
	}
}

FString FoilUnreal::ToFString(std::string_view Utf8)
{
	if (Utf8.empty())
	{
		return FString();
	}
	// Payloads are not NUL-terminated views, so convert with an explicit length.
	const int32 Length = static_cast<int32>(FMath::Min<size_t>(Utf8.size(), static_cast<size_t>(MAX_int32)));
	const FUTF8ToTCHAR Converted(reinterpret_cast<const ANSICHAR*>(Utf8.data()), Length);
	return FString(Converted.Length(), Converted.Get());
}

std::string FoilUnreal::ToStd(const FString& Text)
{
	if (Text.IsEmpty())
	{
		return std::string();
	}
	const FTCHARToUTF8 Converted(*Text, Text.Len());
	return std::string(reinterpret_cast<const char*>(Converted.Get()), static_cast<size_t>(Converted.Length()));
}

FFoilError FoilUnreal::ToUnreal(const foil::Error& Error)
{
	FFoilError Out;
	Out.Code = ToFString(Error.code);
	Out.Message = ToFString(Error.message);
	Out.HttpStatus = Error.http_status;
	Out.RetryAfterSeconds = Error.retry_after ? ToInt32(*Error.retry_after) : -1;
	Out.bLocal = Error.is_local();
	Out.RequestId = static_cast<int64>(Error.request_id);
	Out.Description = ToFString(Error.describe());
	return Out;
}

FFoilUnlockedMachine FoilUnreal::ToUnreal(const foil::UnlockedMachine& Machine)
{
	FFoilUnlockedMachine Out;
	Out.MachineId = ToFString(Machine.machine_id);
	Out.MachineKey = ToFString(Machine.machine_key);
	Out.Name = ToFString(Machine.name);
	Out.bIsAutoAdvance = Machine.is_auto_advance;
	return Out;
}

FFoilChatResponse FoilUnreal::ToUnreal(const foil::ChatResponse& Reply)
{
	FFoilChatResponse Out;
	Out.Message = ToFString(Reply.message);
	Out.CurrentState = ToFString(Reply.current_state);
	Out.Score = ToInt32(Reply.score);
	Out.Outcome = ::ToFString(Reply.outcome);
	Out.Decision = ::ToFString(Reply.decision);
	Out.bFollowUp = Reply.follow_up;
	Out.SessionId = ToFString(Reply.session_id);
	Out.ScoringMode = ToFString(Reply.scoring_mode);
	Out.RedirectCount = Reply.redirect_count ? ToInt32(*Reply.redirect_count) : -1;
	Out.bMachineCompleted = Reply.machine_completed;
	Out.UnlockedMachines = ::ToUnreal(Reply.unlocked_machines);
	return Out;
}

FFoilSessionInit FoilUnreal::ToUnreal(const foil::SessionInit& Session)
{
	FFoilSessionInit Out;
	Out.SessionId = ToFString(Session.session_id);
	Out.PlayerId = ToFString(Session.user_session_id);
	Out.PersonaName = ToFString(Session.persona_name);
	Out.PersonaDescription = ::ToFString(Session.persona_description);
	Out.PlayerName = ToFString(Session.player_name);
	Out.PlayerGender = ToFString(Session.player_gender);
	Out.Message = ToFString(Session.message);
	Out.MachineId = ToFString(Session.machine_id);
	return Out;
}

FFoilPersona FoilUnreal::ToUnreal(const foil::Persona& Persona)
{
	FFoilPersona Out;
	Out.Id = ToFString(Persona.id);
	Out.Name = ToFString(Persona.name);
	Out.Description = ::ToFString(Persona.description);
	Out.CreatedAt = ToFString(Persona.created_at);
	Out.UpdatedAt = ToFString(Persona.updated_at);
	return Out;
}

FFoilMachine FoilUnreal::ToUnreal(const foil::MachineInfo& Machine)
{
	FFoilMachine Out;
	Out.MachineId = ToFString(Machine.machine_id);
	Out.MachineKey = ToFString(Machine.machine_key);
	Out.Name = ToFString(Machine.name);
	Out.Description = ::ToFString(Machine.description);
	Out.bHasSession = Machine.has_session;
	Out.SessionOutcome = ::ToFString(Machine.session_outcome);
	Out.bIsLinked = Machine.is_linked;
	return Out;
}

FFoilSessionStatus FoilUnreal::ToUnreal(const foil::SessionStatus& Status)
{
	FFoilSessionStatus Out;
	Out.SessionId = ToFString(Status.session_id);
	Out.PersonaId = ToFString(Status.persona_id);
	Out.MachineId = ToFString(Status.machine_id);
	Out.CurrentState = ToFString(Status.current_state);
	Out.Score = static_cast<int32>(Status.score);
	Out.Outcome = ::ToFString(Status.outcome);
	Out.PlayerName = ToFString(Status.player_name);
	Out.PlayerGender = ToFString(Status.player_gender);
	Out.StartedAt = ToFString(Status.started_at);
	Out.LastMessageAt = ToFString(Status.last_message_at);
	return Out;
}

FFoilHistory FoilUnreal::ToUnreal(const foil::ChatHistory& History)
{
	FFoilHistory Out;
	FFoilSessionStatus& Session = Out.Session;
	Session.SessionId = ToFString(History.session_id);
	Session.PersonaId = ToFString(History.persona_id);
	Session.CurrentState = ToFString(History.current_state);
	Session.Score = static_cast<int32>(History.score);
	Session.Outcome = ::ToFString(History.outcome);
	Session.PlayerName = ToFString(History.player_name);
	Session.PlayerGender = ToFString(History.player_gender);
	Session.StartedAt = ToFString(History.started_at);
	Session.LastMessageAt = ToFString(History.last_message_at);
	Out.Messages.Reserve(static_cast<int32>(History.messages.size()));
	for (const foil::HistoryMessage& Message : History.messages)
	{
		FFoilHistoryMessage Item;
		Item.Id = ToFString(Message.id);
		Item.Role = ToFString(Message.role);
		Item.Content = ToFString(Message.content);
		Item.StateKeyAtTime = ::ToFString(Message.state_key_at_time);
		Item.bHasScoreAtTime = Message.score_at_time.has_value();
		Item.ScoreAtTime = static_cast<int32>(Message.score_at_time.value_or(0));
		Item.Decision = ::ToFString(Message.decision);
		Item.bFollowUpTriggered = Message.follow_up_triggered;
		Item.CreatedAt = ToFString(Message.created_at);
		Out.Messages.Add(MoveTemp(Item));
	}
	return Out;
}

FFoilLlmKeyCheck FoilUnreal::ToUnreal(const foil::LlmKeyValidation& Check)
{
	FFoilLlmKeyCheck Out;
	Out.bValid = Check.valid;
	Out.Model = ToFString(Check.model);
	Out.Error = ::ToFString(Check.error);
	return Out;
}

FFoilGameEvent FoilUnreal::ToUnreal(const foil::StateChange& Event)
{
	FFoilGameEvent Out;
	Out.Kind = EFoilGameEventKind::StateChange;
	Out.SessionId = ToFString(Event.session_id);
	Out.FromState = ToFString(Event.from_state);
	Out.ToState = ToFString(Event.to_state);
	Out.Decision = ::ToFString(Event.decision);
	return Out;
}

FFoilGameEvent FoilUnreal::ToUnreal(const foil::ScoreChange& Event)
{
	FFoilGameEvent Out;
	Out.Kind = EFoilGameEventKind::ScoreChange;
	Out.SessionId = ToFString(Event.session_id);
	Out.OldScore = ToInt32(Event.old_score);
	Out.NewScore = ToInt32(Event.new_score);
	Out.Delta = ToInt32(Event.delta);
	return Out;
}

FFoilGameEvent FoilUnreal::ToUnreal(const foil::MachineCompleted& Event)
{
	FFoilGameEvent Out;
	Out.Kind = EFoilGameEventKind::MachineCompleted;
	Out.SessionId = ToFString(Event.session_id);
	Out.Outcome = ::ToFString(Event.outcome);
	Out.FinalScore = ToInt32(Event.final_score);
	return Out;
}

FFoilGameEvent FoilUnreal::ToUnreal(const foil::MachinesUnlocked& Event)
{
	FFoilGameEvent Out;
	Out.Kind = EFoilGameEventKind::MachinesUnlocked;
	Out.SessionId = ToFString(Event.session_id);
	Out.UnlockedMachines = ::ToUnreal(Event.machines);
	return Out;
}

FFoilGameEvent FoilUnreal::ToUnreal(const foil::SessionEnded& Event)
{
	FFoilGameEvent Out;
	Out.Kind = EFoilGameEventKind::SessionEnded;
	Out.SessionId = ToFString(Event.session_id);
	Out.Outcome = ToFString(Event.outcome);
	Out.FinalScore = ToInt32(Event.final_score);
	return Out;
}

FFoilError FoilUnreal::MakeLocalError(const FString& Code, const FString& Message)
{
	FFoilError Out;
	Out.Code = Code;
	Out.Message = Message;
	Out.bLocal = true;
	Out.Description = Message.IsEmpty() ? Code : FString::Printf(TEXT("%s: %s"), *Code, *Message);
	return Out;
}
