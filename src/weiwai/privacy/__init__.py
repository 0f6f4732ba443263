"""Data protection of the outsourcing (PIPL art. 21, 51, 55-57): entrustment records and
impact assessments, the end of entrustment (deletion certificates, retention purges),
canary records and leak tracing, and the agencies' information-security reviews."""
