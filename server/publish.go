package server

import (
	"context"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/heraldhq/herald/engine"
	heraldv1 "github.com/heraldhq/herald/gen/herald/v1"
)

// Publish authenticates the caller, validates the message, checks that
// the caller may publish to its topic and is within its publish rate,
// hands the message to the engine and returns its position. It never
// waits for subscribers. Authentication comes first, so that a client
// without a valid credential learns nothing but that; a token whose exp
// has passed is refused (token_expired) even within the clock leeway, as
// on Subscribe.
func (s *service) Publish(ctx context.Context, req *heraldv1.PublishRequest) (*heraldv1.PublishResponse, error) {
	m := s.srv.transport(ctx)
	id, err := s.srv.authenticate(ctx)
	if err != nil {
		return nil, refuse(m, err)
	}
	if r := validatePublish(req, s.srv.cfg.MaxMessageSize); r != nil {
		m.Refuse(r.reason)
		return nil, r.err
	}
	if err := id.AuthorizePublish(req.GetTopic()); err != nil {
		return nil, refuse(m, err)
	}
	if err := s.srv.cfg.Limits.Publish(PublishKey(id, s.srv.clientAddr(ctx))); err != nil {
		return nil, refuse(m, err)
	}
	res, err := s.srv.eng.Publish(ctx, engine.PublishRequest{
		Topic:          req.GetTopic(),
		Data:           req.GetData(),
		ContentType:    req.GetContentType(),
		Event:          req.GetEvent(),
		IdempotencyKey: req.GetIdempotencyKey(),
	})
	if err != nil {
		return nil, errorStatus(ctx, s.srv.log, heraldv1.PubSubService_Publish_FullMethodName, err)
	}
	if !res.Duplicate {
		m.Published.Inc()
	}
	return &heraldv1.PublishResponse{
		Id:          res.ID.String(),
		PublishTime: timestamppb.New(res.Time),
		Duplicate:   res.Duplicate,
	}, nil
}
