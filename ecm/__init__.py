"""ECM: events, credit records, the Co.Ge.A.P.S. participant report and certificates."""
