using System.Threading;
using System.Threading.Tasks;
using FoilEngine.Internal;
using FoilEngine.Models;

namespace FoilEngine
{
    /// <summary>The published personas the API key reaches (<c>client.Personas</c>).</summary>
    public sealed class PersonasResource
    {
        private readonly FoilEngineClient _client;

        internal PersonasResource(FoilEngineClient client)
        {
            _client = client;
        }

        /// <summary>
        /// Lists the published personas the API key reaches. Answered from the client's cache
        /// for <c>cacheTtl</c> seconds after a fetch.
        /// </summary>
        public Task<Persona[]> ListAsync(CancellationToken cancellationToken = default(CancellationToken))
        {
            return _client.Submit(
                Operation.ListPersonas,
                new string[0],
                new Pending<Persona[]>(Persona.ListFromJson),
                cancellationToken);
        }
    }

    /// <summary>The machines (scenarios) a player can play (<c>client.Machines</c>).</summary>
    public sealed class MachinesResource
    {
        private readonly FoilEngineClient _client;

        internal MachinesResource(FoilEngineClient client)
        {
            _client = client;
        }

        /// <summary>
        /// Lists the machines of <paramref name="personaId"/> that the player
        /// <paramref name="userSessionId"/> can play now: entry machines, machines nothing links
        /// to, and machines the player unlocked.
        /// </summary>
        public Task<MachineInfo[]> ListAsync(string personaId, string userSessionId, CancellationToken cancellationToken = default(CancellationToken))
        {
            FoilEngineClient.Require(personaId, "personaId");
            FoilEngineClient.Require(userSessionId, "userSessionId");
            return _client.Submit(
                Operation.ListMachines,
                new[] { personaId, userSessionId },
                new Pending<MachineInfo[]>(MachineInfo.ListFromJson),
                cancellationToken);
        }
    }
}
