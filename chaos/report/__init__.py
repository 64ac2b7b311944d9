"""Evidence folders rendered for people: timeline.png, report.html, the console verdict block."""
