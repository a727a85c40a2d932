// Runs unchanged on every platform: in WebGL players the client talks through the browser's
// fetch (the package's .jslib) instead of the native plugin.
using System;
using System.Text;
using FoilEngine;
using FoilEngine.Models;
using FoilEngine.Unity;
using UnityEngine;

namespace FoilEngine.Samples
{
    /// <summary>
    /// A minimal chat with one NPC: type a line, press Enter (or Send), watch the reply stream
    /// in. Put it on a GameObject next to a <see cref="FoilEngineBehaviour"/> whose API key and
    /// server URL are set (for a local server: <c>cargo run -p foil-server -- serve --demo</c>
    /// prints both), and press Play.
    /// </summary>
    [RequireComponent(typeof(FoilEngineBehaviour))]
    public class BasicChat : MonoBehaviour
    {
        [Tooltip("The persona to talk to (its name); empty = the first persona the key reaches.")]
        [SerializeField] private string personaName = "Grumpy Barista";

        [Tooltip("Your name for this player (any stable id of up to 128 characters).")]
        [SerializeField] private string userSessionId = "unity-sample-player";

        [SerializeField] private string playerName = "Alex";

        [Tooltip("female, male or non-binary")]
        [SerializeField] private string playerGender = "non-binary";

        private readonly StringBuilder _log = new StringBuilder();
        private FoilEngineBehaviour _foil;
        private string _personaId;
        private string _input = "";
        private string _streaming;
        private string _status = "Connecting...";
        private bool _busy = true;
        private Vector2 _scroll;

        private async void Start()
        {
            _foil = GetComponent<FoilEngineBehaviour>();
            if (string.IsNullOrWhiteSpace(_foil.ApiKey))
            {
                _status = "Set the API key on the FoilEngineBehaviour first.";
                return;
            }
            FoilEngineClient client = _foil.Client;
            client.OnStateChange += e => Note("state " + e.FromState + " -> " + e.ToState);
            client.OnScoreChange += e => Note("score " + e.OldScore + " -> " + e.NewScore + " (" + e.Delta.ToString("+0;-0") + ")");
            client.OnSessionEnded += e => Note("session ended: " + e.Outcome + ", final score " + e.FinalScore);
            try
            {
                Persona[] personas = await client.Personas.ListAsync();
                Persona persona = Array.Find(personas, p => p.Name == personaName);
                if (persona == null && personas.Length > 0)
                {
                    persona = personas[0];
                }
                if (persona == null)
                {
                    _status = "This API key reaches no published persona.";
                    return;
                }
                _personaId = persona.Id;
                SessionInit session = await client.Chat.InitSessionAsync(_personaId, userSessionId, playerName, playerGender);
                // Lets the client report a state change for the very first turn too.
                await client.Chat.GetSessionAsync(_personaId, userSessionId);
                _log.AppendLine(session.PersonaName + ": " + session.Message);
                _status = "Say something to " + session.PersonaName + ".";
                _busy = false;
            }
            catch (FoilEngineException e)
            {
                _status = "Error " + e.StatusCode + ": " + e.Message;
            }
            catch (OperationCanceledException)
            {
                // The component was disabled meanwhile.
            }
        }

        private async void Send()
        {
            string line = _input.Trim();
            if (_busy || line.Length == 0)
            {
                return;
            }
            _input = "";
            _busy = true;
            _log.AppendLine("You: " + line);
            _streaming = "";
            await _foil.Client.Chat.SendMessageStreamAsync(
                _personaId,
                line,
                userSessionId,
                onTextDelta: text => _streaming += text,
                onDone: response =>
                {
                    _log.AppendLine("NPC: " + response.Message);
                    _status = "state " + response.CurrentState + " · score " + response.Score
                        + (response.Outcome != null ? " · " + response.Outcome : "");
                },
                onError: error => _status = "Error " + error.StatusCode + ": " + error.Message);
            _streaming = null;
            _busy = false;
        }

        private void Note(string text)
        {
            _log.AppendLine("  [" + text + "]");
        }

        private void OnGUI()
        {
            GUILayout.BeginArea(new Rect(10, 10, Screen.width - 20, Screen.height - 20));
            _scroll = GUILayout.BeginScrollView(_scroll);
            GUILayout.Label(_log.ToString() + (_streaming != null ? "NPC: " + _streaming : ""));
            GUILayout.EndScrollView();
            GUILayout.Label(_status);
            GUILayout.BeginHorizontal();
            bool enter = Event.current.type == EventType.KeyDown && Event.current.keyCode == KeyCode.Return;
            _input = GUILayout.TextField(_input, 2000, GUILayout.ExpandWidth(true));
            if (GUILayout.Button("Send", GUILayout.Width(80)) || enter)
            {
                Send();
            }
            GUILayout.EndHorizontal();
            GUILayout.EndArea();
        }
    }
}
