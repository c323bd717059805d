extensions = ["sphinxext_rabbit"]
numfig = True
