extensions = ["sphinxext_rabbit"]
project = "Orders"
version = release = "1.0"
copyright = "2026, the order team"
