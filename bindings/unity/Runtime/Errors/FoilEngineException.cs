using System;

namespace FoilEngine
{
    /// <summary>
    /// Base exception of every Foil Engine failure. <see cref="StatusCode"/> is the HTTP status
    /// (0 when there was no HTTP answer: connection failed, timed out, stream broke) and
    /// <see cref="Code"/> the stable snake_case error code (the server's <c>error.code</c>, e.g.
    /// <c>session_ended</c>, or the client's own: <c>transport_error</c>, <c>timeout</c>,
    /// <c>decode_error</c>, <c>stream_error</c>, ...).
    /// </summary>
    public class FoilEngineException : Exception
    {
        /// <summary>The HTTP status, or 0 when the request got no HTTP answer.</summary>
        public int StatusCode { get; private set; }

        /// <summary>The stable snake_case error code, or null when unknown.</summary>
        public string Code { get; private set; }

        /// <summary>Creates an exception with a message, an HTTP status and an error code.</summary>
        public FoilEngineException(string message, int statusCode = 0, string code = null)
            : base(message)
        {
            StatusCode = statusCode;
            Code = code;
        }
    }

    /// <summary>The API key (or the LLM provider key) was refused (401).</summary>
    public class AuthenticationException : FoilEngineException
    {
        /// <summary>Creates the exception.</summary>
        public AuthenticationException(string message = "Invalid or missing API key", string code = null)
            : base(message, 401, code) { }
    }

    /// <summary>The key may not use this persona (403).</summary>
    public class ForbiddenException : FoilEngineException
    {
        /// <summary>Creates the exception.</summary>
        public ForbiddenException(string message = "Access denied", string code = null)
            : base(message, 403, code) { }
    }

    /// <summary>The persona, machine or session does not exist (404).</summary>
    public class NotFoundException : FoilEngineException
    {
        /// <summary>Creates the exception.</summary>
        public NotFoundException(string message = "Resource not found", string code = null)
            : base(message, 404, code) { }
    }

    /// <summary>The request was invalid (400).</summary>
    public class BadRequestException : FoilEngineException
    {
        /// <summary>Creates the exception.</summary>
        public BadRequestException(string message = "Bad request", string code = null)
            : base(message, 400, code) { }
    }

    /// <summary>
    /// The session cannot take the message now (409): it has ended (<see cref="FoilEngineException.Code"/>
    /// <c>session_ended</c>) or another message of the same session is being processed
    /// (<c>session_busy</c>). The official SDK reports these as a plain
    /// <see cref="FoilEngineException"/> with status 409; this subclass keeps that catchable.
    /// </summary>
    public class ConflictException : FoilEngineException
    {
        /// <summary>Creates the exception.</summary>
        public ConflictException(string message = "Conflict", string code = null)
            : base(message, 409, code) { }
    }

    /// <summary>Too many requests (429), after the client's own retries.</summary>
    public class RateLimitException : FoilEngineException
    {
        /// <summary>Seconds the server asked to wait before trying again, when it said so.</summary>
        public float? RetryAfter { get; private set; }

        /// <summary>Creates the exception.</summary>
        public RateLimitException(string message = "Rate limit exceeded", float? retryAfter = null, string code = null)
            : base(message, 429, code)
        {
            RetryAfter = retryAfter;
        }
    }

    /// <summary>The server (or the LLM provider behind it) failed (5xx), after the client's own retries.</summary>
    public class ServerException : FoilEngineException
    {
        /// <summary>Creates the exception (status 500 unless given).</summary>
        public ServerException(string message = "Internal server error", int statusCode = 500, string code = null)
            : base(message, statusCode, code) { }
    }
}
