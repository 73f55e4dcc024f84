// CLI: loginid-mfa-flow-simulator (filled by the simulator work)
export {}
