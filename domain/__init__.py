"""Business rules of Carnet santé: models, services, access policy, crypto and audit.

Nothing in this package imports Flask's request objects or templates; views call these
services with a SQLAlchemy session and plain values.
"""
