using System.Text.Json;

namespace StreamPipeline.EdgeConnector.Authentication;

/// <summary>Reads <c>{"agent_id":"...","token":"..."}</c>, the authenticate payload.</summary>
internal static class AuthenticateRequest
{
    public const int MaxFieldLength = 512;

    public static bool TryParse(ReadOnlySpan<byte> payload, out string agentId, out string token, out string error)
    {
        agentId = token = "";
        error = "";
        try
        {
            var reader = new Utf8JsonReader(payload);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                error = "authenticate payload must be an object {\"agent_id\":\"...\",\"token\":\"...\"}";
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isAgent = reader.ValueTextEquals("agent_id"u8);
                var isToken = !isAgent && reader.ValueTextEquals("token"u8);
                reader.Read();
                if (!isAgent && !isToken) { reader.Skip(); continue; }
                if (reader.TokenType != JsonTokenType.String || reader.ValueSpan.Length > MaxFieldLength)
                {
                    error = $"authenticate payload field '{(isAgent ? "agent_id" : "token")}' must be a string of at most {MaxFieldLength} bytes";
                    return false;
                }

                if (isAgent) agentId = reader.GetString()!;
                else token = reader.GetString()!;
            }
        }
        catch (JsonException e)
        {
            error = "authenticate payload is not valid JSON: " + e.Message;
            return false;
        }

        if (agentId.Length == 0 || token.Length == 0)
        {
            error = "authenticate payload needs non-empty 'agent_id' and 'token'";
            return false;
        }

        return true;
    }
}
