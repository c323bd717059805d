extensions = ["sphinxext_rabbit"]
