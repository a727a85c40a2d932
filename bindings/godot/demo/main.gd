extends Control
## Foil Engine demo: picks a persona (FoilClient), then talks to it (FoilConversation): the NPC's
## replies stream in, the game events are printed as they happen.
##
## Configure with environment variables (or edit the FoilClient node in main.tscn):
##   FOIL_BASE_URL  server URL (default: the node's base_url, http://127.0.0.1:8000)
##   FOIL_API_KEY   your game's API key (pk_live_...)  -- required
##   FOIL_PERSONA   a persona name to talk to (default: the first one listed)

@onready var foil: FoilClient = $FoilClient
@onready var npc: FoilConversation = $Conversation
@onready var status_label: Label = $VBox/Status
@onready var log_view: RichTextLabel = $VBox/Log
@onready var input: LineEdit = $VBox/Input

var persona_name := ""


func _ready() -> void:
	if OS.has_environment("FOIL_BASE_URL"):
		foil.base_url = OS.get_environment("FOIL_BASE_URL")
	# Keep keys out of scene files: read them at run time.
	foil.api_key = OS.get_environment("FOIL_API_KEY")
	# Keep receiving replies while the game is paused (e.g. a dialog over a paused world).
	foil.process_mode = Node.PROCESS_MODE_ALWAYS
	npc.process_mode = Node.PROCESS_MODE_ALWAYS

	foil.personas_received.connect(_on_personas_received)
	foil.request_failed.connect(_on_request_failed)
	npc.started.connect(_on_started)
	npc.reply_delta.connect(_on_reply_delta)
	npc.reply_finished.connect(_on_reply_finished)
	npc.state_changed.connect(_on_state_changed)
	npc.score_changed.connect(_on_score_changed)
	npc.machine_completed.connect(_on_machine_completed)
	npc.machines_unlocked.connect(_on_machines_unlocked)
	npc.session_ended.connect(_on_session_ended)
	npc.failed.connect(_on_failed)
	input.text_submitted.connect(_on_text_submitted)

	if foil.api_key.is_empty():
		status_label.text = "Set FOIL_API_KEY (see README.md) and run again."
		return
	status_label.text = "Listing personas on %s..." % foil.base_url
	foil.list_personas()


func _on_personas_received(_request_id: int, personas: Array) -> void:
	if personas.is_empty():
		status_label.text = "No published persona: publish one (or start the server with --demo)."
		return
	var wanted := OS.get_environment("FOIL_PERSONA")
	var persona: Dictionary = personas[0]
	for p in personas:
		if p["name"] == wanted:
			persona = p
	persona_name = persona["name"]
	status_label.text = "Starting a session with %s..." % persona_name
	npc.persona_id = persona["id"]
	npc.player_id = "demo-player"
	npc.player_name = "Ada"
	npc.player_gender = "female"
	npc.start()


func _on_request_failed(_request_id: int, error: Dictionary) -> void:
	_note("request failed: %s (%s)" % [error["message"], error["code"]])


func _on_started(greeting: String, _session: Dictionary) -> void:
	status_label.text = "Talking to %s" % persona_name
	_say(persona_name, greeting)
	input.editable = true
	input.grab_focus()


func _on_text_submitted(text: String) -> void:
	if text.strip_edges().is_empty() or npc.is_busy():
		return
	input.clear()
	input.editable = false
	_say("You", text)
	log_view.append_text("[b]%s:[/b] " % persona_name)
	npc.say(text)


func _on_reply_delta(text: String) -> void:
	log_view.add_text(text)


func _on_reply_finished(_reply: String, response: Dictionary) -> void:
	log_view.append_text("\n")
	status_label.text = "%s | state %s | score %d" % [
		persona_name, response["current_state"], response["score"]]
	input.editable = response["outcome"] == null
	if input.editable:
		input.grab_focus()


func _on_state_changed(event: Dictionary) -> void:
	_note("state %s -> %s" % [event["from_state"], event["to_state"]])


func _on_score_changed(event: Dictionary) -> void:
	_note("score %+d (now %d)" % [event["delta"], event["new_score"]])


func _on_machine_completed(event: Dictionary) -> void:
	_note("scenario complete: %s" % event["outcome"])


func _on_machines_unlocked(event: Dictionary) -> void:
	var names := PackedStringArray()
	for machine in event["machines"]:
		names.append(machine["name"])
	_note("unlocked: %s" % ", ".join(names))


func _on_session_ended(event: Dictionary) -> void:
	_note("the conversation is over (%s, final score %d)" % [event["outcome"], event["final_score"]])


func _on_failed(error: Dictionary) -> void:
	_note("failed: %s (%s)" % [error["message"], error["code"]])
	log_view.append_text("\n")
	input.editable = true


func _say(who: String, text: String) -> void:
	log_view.append_text("[b]%s:[/b] " % who)
	log_view.add_text(text + "\n")


func _note(text: String) -> void:
	log_view.append_text("[i][color=gray]%s[/color][/i]\n" % text)
