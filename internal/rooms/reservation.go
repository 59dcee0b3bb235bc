package rooms

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jitsi-gate/jitsi-gate/internal/reservation"
)

// ReservationRooms is the registry as Prosody's reservation API sees it
// (reservation.Options.Rooms). Lookup goes through the Service's cache.
func (s *Service) ReservationRooms() reservation.Rooms { return reservationRooms{s} }

type reservationRooms struct{ s *Service }

func (a reservationRooms) Lookup(ctx context.Context, tenant, safeName string) (reservation.Room, error) {
	r, err := a.s.Lookup(ctx, tenant, safeName)
	if err != nil {
		return reservation.Room{}, notFound(err)
	}
	return reservationRoom(r), nil
}

func (a reservationRooms) ByID(ctx context.Context, id string) (reservation.Room, error) {
	r, err := a.s.Get(ctx, id)
	if err != nil {
		return reservation.Room{}, notFound(err)
	}
	return reservationRoom(r), nil
}

func (a reservationRooms) Ended(ctx context.Context, id string, at time.Time) error {
	if err := a.s.store.RecordMeetingEnded(ctx, id, at); err != nil {
		return notFound(fmt.Errorf("rooms: %w", err))
	}
	return nil
}

// notFound adds reservation.ErrNotFound to a not-found error, so the
// handler tells "not registered" from a database failure.
func notFound(err error) error {
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("%w: %w", reservation.ErrNotFound, err)
	}
	return err
}

func reservationRoom(r *Room) reservation.Room {
	return reservation.Room{
		ID: r.ID, Name: r.Name, Tenant: r.Tenant, Title: r.Title,
		Lobby: r.Lobby, Password: r.Password, MaxOccupants: r.MaxOccupants,
		Schedule: r.Schedule,
	}
}
