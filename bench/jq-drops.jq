# The bench chain's three drops (bench/bench.yaml) for jq: lease renewals, health checks,
# system reads. bench/run.sh runs `jq -c -f jq-drops.jq audit.log`.
select((((.objectRef.resource // "") == "leases") and (.verb == "get" or .verb == "update" or .verb == "patch")) | not)
| select(((.objectRef == null) and ((.requestURI // "") | test("^/(healthz|livez|readyz|metrics)"))) | not)
| select(((.verb == "get" or .verb == "list" or .verb == "watch") and ((.user.username // "") | startswith("system:")) and (.objectRef.resource != "secrets")) | not)
