"""guidecheck: turns a microservice deployment guideline into executable rules."""

__version__ = "0.1.0"
