"""The xAPI 1.0.3 Learning Record Store: statements, documents, agents and activities."""
