EASE = None
