extends Control
## Foil Engine demo: picks a persona, starts a session and streams the NPC's replies.
##
## Configure with environment variables (or edit the FoilClient node in main.tscn):
##   FOIL_BASE_URL  server URL (default: the node's base_url, http://127.0.0.1:8000)
##   FOIL_API_KEY   your game's API key (pk_live_...)  -- required
##   FOIL_PERSONA   a persona name to talk to (default: the first one listed)

@onready var foil: FoilClient = $FoilClient
@onready var status_label: Label = $VBox/Status
@onready var log_view: RichTextLabel = $VBox/Log
@onready var input: LineEdit = $VBox/Input

var persona_id := ""
var persona_name := ""
var player_id := "demo-player"
var streaming_request := 0


func _ready() -> void:
	if OS.has_environment("FOIL_BASE_URL"):
		foil.base_url = OS.get_environment("FOIL_BASE_URL")
	# Keep keys out of scene files: read them at run time.
	foil.api_key = OS.get_environment("FOIL_API_KEY")
	# Keep receiving replies while the game is paused (e.g. a dialog over a paused world).
	foil.process_mode = Node.PROCESS_MODE_ALWAYS

	foil.personas_received.connect(_on_personas_received)
	foil.session_started.connect(_on_session_started)
	foil.text_delta.connect(_on_text_delta)
	foil.message_received.connect(_on_message_received)
	foil.state_changed.connect(_on_state_changed)
	foil.score_changed.connect(_on_score_changed)
	foil.machine_completed.connect(_on_machine_completed)
	foil.machines_unlocked.connect(_on_machines_unlocked)
	foil.session_ended.connect(_on_session_ended)
	foil.request_failed.connect(_on_request_failed)
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
	persona_id = persona["id"]
	persona_name = persona["name"]
	status_label.text = "Starting a session with %s..." % persona_name
	foil.init_session(persona_id, player_id, "Ada", "female")


func _on_session_started(_request_id: int, session: Dictionary) -> void:
	status_label.text = "Talking to %s" % persona_name
	_say(persona_name, session["message"])
	input.editable = true
	input.grab_focus()


func _on_text_submitted(text: String) -> void:
	if text.strip_edges().is_empty() or streaming_request != 0:
		return
	input.clear()
	input.editable = false
	_say("You", text)
	log_view.append_text("[b]%s:[/b] " % persona_name)
	streaming_request = foil.send_message_stream(persona_id, player_id, text)


func _on_text_delta(request_id: int, text: String) -> void:
	if request_id == streaming_request:
		log_view.add_text(text)


func _on_message_received(request_id: int, response: Dictionary) -> void:
	if request_id != streaming_request:
		return
	streaming_request = 0
	log_view.append_text("\n")
	status_label.text = "%s | state %s | score %d" % [
		persona_name, response["current_state"], response["score"]]
	input.editable = response["outcome"] == null
	if input.editable:
		input.grab_focus()


func _on_state_changed(_request_id: int, event: Dictionary) -> void:
	_note("state %s -> %s" % [event["from_state"], event["to_state"]])


func _on_score_changed(_request_id: int, event: Dictionary) -> void:
	_note("score %+d (now %d)" % [event["delta"], event["new_score"]])


func _on_machine_completed(_request_id: int, event: Dictionary) -> void:
	_note("scenario complete: %s" % event["outcome"])


func _on_machines_unlocked(_request_id: int, event: Dictionary) -> void:
	var names := PackedStringArray()
	for machine in event["machines"]:
		names.append(machine["name"])
	_note("unlocked: %s" % ", ".join(names))


func _on_session_ended(_request_id: int, event: Dictionary) -> void:
	_note("the conversation is over (%s, final score %d)" % [event["outcome"], event["final_score"]])


func _on_request_failed(request_id: int, error: Dictionary) -> void:
	_note("request failed: %s (%s)" % [error["message"], error["code"]])
	if request_id == streaming_request:
		streaming_request = 0
		log_view.append_text("\n")
		input.editable = true


func _say(who: String, text: String) -> void:
	log_view.append_text("[b]%s:[/b] " % who)
	log_view.add_text(text + "\n")


func _note(text: String) -> void:
	log_view.append_text("[i][color=gray]%s[/color][/i]\n" % text)
