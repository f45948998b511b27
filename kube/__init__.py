"""Everything that talks to the Kubernetes API: kubeconfig resolution, watch threads, the store of
slim objects and discovery of ARC. Textual-free: results reach the UI through an injected callback."""
