"""Score forms: the provider seam (base), the local form server and the Google Forms path."""
