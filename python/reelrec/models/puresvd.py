PureSVD = None
