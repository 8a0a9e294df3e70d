"""The fairness rules' one-line definitions: one source for the engine, the README's table, the
CLI, the workbook's Methodology sheet and the API (this module imports nothing, so every layer
may use it)."""

RULES = ("leximin", "proportional_to_benchmark_cost", "equal_shortfall")

# One-line definitions, shown in the README, the CLI and the workbook's Methodology sheet.
DEFINITIONS: dict[str, str] = {
    "leximin": "level = min(1, (existing + funded) ÷ target) ÷ weight; raise the lowest level as "
    "far as possible, then the next lowest, and so on (lexicographic max-min)",
    "proportional_to_benchmark_cost": "level = min(1, funded ÷ (target − existing)) ÷ weight: "
    "the share of each cell's gap to benchmark that is closed; raised lowest first (leximin)",
    "equal_shortfall": "level = −need × weight × (target − existing − funded)⁺ ÷ target: the "
    "need-weighted shortfall as a share of target; the largest is made as small as possible, "
    "then the next largest, and so on (leximin)",
}
