// The citizen app's reads. Each is typed from schema.graphql by the build and sent as a trusted document.
import { graphql } from '../gql';

export const Categories = graphql(`
  query Categories {
    categories { code nameId nameEn confidential sensitive }
  }
`);

export const MyReports = graphql(`
  query MyReports($first: Int!) {
    myReports(first: $first) {
      edges {
        node {
          id
          description
          status
          createdAt
          updatedAt
          confidential
          supportCount
          category { code nameId nameEn }
          kelurahan { name }
          photos { id thumbnailUrl }
        }
      }
    }
  }
`);

export const CitizenReportFields = graphql(`
  fragment CitizenReportFields on Report {
    id
    description
    status
    anonymous
    confidential
    createdAt
    updatedAt
    supportCount
    supportedByMe
    followedByMe
    filedByMe
    location { lat lon }
    category { code nameId nameEn }
    kelurahan { name kecamatan { name } kota { name } }
    unit { name }
    reporter { displayName }
    photos { id status url thumbnailUrl }
    afterPhotos { id status url thumbnailUrl }
    history { kind fromStatus toStatus at publicNote rating escalationLevel toUnit { name } }
  }
`);

export const ReportDetail = graphql(`
  query ReportDetail($id: ID!) {
    report(id: $id) {
      ...CitizenReportFields
      comments(first: 100) {
        edges { node { id createdAt hidden body byStaff author { displayName } } }
      }
    }
  }
`);

export const KelurahanAt = graphql(`
  query KelurahanAt($lat: Float!, $lon: Float!) {
    kelurahanAt(lat: $lat, lon: $lon) {
      distanceM
      kelurahan { name kecamatan { name } kota { name } }
    }
  }
`);

export const SimilarReports = graphql(`
  query SimilarReports($lat: Float!, $lon: Float!, $category: String!) {
    similarReports(lat: $lat, lon: $lon, category: $category) {
      distanceM
      report {
        id
        description
        status
        createdAt
        supportCount
        supportedByMe
        filedByMe
        category { code nameId nameEn }
        photos { id thumbnailUrl }
      }
    }
  }
`);

export const Inbox = graphql(`
  query Inbox($first: Int!) {
    notifications(first: $first) {
      unreadCount
      edges { node { id kind title body reportId createdAt readAt } }
    }
  }
`);

export const UnreadCount = graphql(`
  query UnreadCount {
    notifications(first: 1) { unreadCount }
  }
`);
