package deps

import (
	_ "github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	_ "go.uber.org/goleak"
	_ "google.golang.org/grpc/health"
	_ "google.golang.org/grpc/reflection"
	_ "google.golang.org/grpc/test/bufconn"
	_ "github.com/heraldhq/herald/gen/herald/v1"
)
