"""Real published cases shipped with ddx for `ddx quiz` (quiz.csv)."""
