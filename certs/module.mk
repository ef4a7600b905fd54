# certs: fragment owned by that part
certs:
	@echo "certs: nothing yet"
