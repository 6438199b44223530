"""What people and programs meet: the command line, the demo, drawing and plots."""
