// The officer app's reads. Each goes through load() (src/shared/data.ts), so what was shown once is kept on the
// phone and readable offline.
import { graphql } from '../gql';
import type { OfficerQueueQuery, OfficerReportQuery } from '../gql/graphql';

export const QueueItemFields = graphql(`
  fragment QueueItemFields on Report {
    id
    description
    status
    createdAt
    updatedAt
    dueAt
    overdue
    escalationLevel
    supportCount
    location { lat lon }
    category { code nameId nameEn }
    kelurahan { name code }
    unit { code name }
    assignee { displayName }
  }
`);

export const OfficerQueue = graphql(`
  query OfficerQueue($filter: WorkQueueFilter, $first: Int!, $after: String) {
    workQueue(filter: $filter, first: $first, after: $after) {
      edges { node { ...QueueItemFields } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

/** A queue item kept as the report's summary, so a report never opened can still be shown and acted on offline. */
export const ReportSummary = graphql(`
  query OfficerReportSummary($id: ID!) {
    report(id: $id) { ...QueueItemFields }
  }
`);

export const OfficerReport = graphql(`
  query OfficerReport($id: ID!) {
    report(id: $id) {
      ...QueueItemFields
      anonymous
      confidential
      hidden
      hiddenReason
      statusLabel
      routingDistanceM
      responseDueAt
      completionDueAt
      firstResponseAt
      closedAt
      duplicateOf
      duplicates
      location { lat lon accuracyM }
      kecamatan { name }
      kota { name }
      reporter { displayName }
      photos { id status url thumbnailUrl width height }
      afterPhotos { id status url thumbnailUrl width height }
      cctvEvidence {
        id rank cameraName cameraKind distanceM status reason windowStart windowEnd health motionRatio
        congestionIndex facesBlurred summary snapshotUrl clipUrl playableClipUrl
        objects { label max mean }
      }
      comments(first: 50) {
        edges { node { id createdAt hidden body byStaff author { displayName } } }
        pageInfo { hasNextPage }
      }
      history {
        kind fromStatus toStatus at publicNote internalNote escalationLevel rating
        fromUnit { name } toUnit { name } actor { displayName } assignee { displayName }
      }
    }
  }
`);

export const Categories = graphql(`
  query OfficerCategories {
    categories { code nameId nameEn }
  }
`);

export const UnitOfficers = graphql(`
  query OfficerUnitOfficers($unit: String!) {
    unitOfficers(unit: $unit) { id displayName }
  }
`);

export type QueueItem = OfficerQueueQuery['workQueue']['edges'][number]['node'];
export type ReportDetail = NonNullable<OfficerReportQuery['report']>;
