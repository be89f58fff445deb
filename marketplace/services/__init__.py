"""The business rules, one module per concern. No request objects and no templates here."""
