//! Scheduling: cron expressions as users write them (5 fields, Sunday = 0) translated for the cron
//! crate, and which links are due. Pure: `now` is always a parameter.

/// Parses a 5-field (standard) or 6-field (seconds first) cron expression.
pub fn parse_cron(expr: &str) -> Result<cron::Schedule, String> {
    // Placeholder until the scheduler lands: 5 fields get a leading seconds field.
    let fields: Vec<&str> = expr.split_whitespace().collect();
    let six = match fields.len() {
        5 => format!("0 {}", fields.join(" ")),
        6 => fields.join(" "),
        n => return Err(format!("cron expression {expr:?} has {n} fields; write 5 (minute hour day month weekday) or 6 (seconds first)")),
    };
    six.parse::<cron::Schedule>()
        .map_err(|e| format!("invalid cron expression {expr:?}: {e}"))
}
