// ClusterAgent: the agent actor of one K3s cluster and its ports (metrics, Kubernetes, cloud, interruptions).
